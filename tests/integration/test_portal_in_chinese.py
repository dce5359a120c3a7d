"""Every portal page a seller can reach, in Chinese: no English word of the pages' own survives.

One seller with cases in every state (in progress with an unread reply, waiting for them,
resolved, rated, closed, reopened, too old to reopen, continued, untyped) sees every page of
the portal twice, once as a Chinese seller and once as an English one, against the whole
`frontdoor serve` app: the list with each tab, a search, no match and the pager; every case
page; each confirmation; the new-case form with its refusals, the article and the existing case;
the refusals of each form; not found (a case, a file, any other path) and forbidden; the
login, refused-link, logged-out and "please log in" pages; the email settings and verification
pages. The chat panel's words (its
data-text attributes), titles, placeholders and aria labels count as text.

What people typed (descriptions, replies, names) and what is not language (case numbers, order
ids, file names, the brand, commands, addresses) is taken out first. Then the Chinese page may
hold no Latin word but a few names (Telegram, Slack, JavaScript, MB), and no text of the English
page that has an English word may appear on it. The English pages are checked to have such
texts, so the check is not empty.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from bot import domain as d
from bot.clock import ManualClock
from bot.portal_login import PortalLogin
from storage.database import Database
from storage.models import CaseRow
from tests.integration.portal_client import csrf_in
from tests.integration.serve_relay_support import AGENT, ORDER, ORDER2, Served, TelegramSeller, serving

PUBLIC = "http://portal.example"
SECRET = "portal-chinese-secret-of-at-least-32-chars"
ZH_BROWSER = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN_BROWSER = {"Accept-Language": "en-US,en;q=0.9"}
#: Latin words a Chinese page may carry: names of products, a unit, and the trade's own word
#: that Chinese cross-border sellers write in English (the catalogue's "Listing" for listings).
NAMES = {"Telegram", "Slack", "JavaScript", "MB", "Listing"}
#: What people typed in this test, and other words that are content, not the page's.
TYPED = ["包裹三周了还没到，物流信息停了", "我们正在联系承运商查询包裹", "小李", "王芳",
         "王芳's Shop", "货款还没到账，已经两周了，请帮忙查一下", "商品页面被下架了",
         "广告费扣了两次", "账户被冻结了，无法登录", "上个月的佣金是怎么算的",
         "库存数量不对，少了十件", "这个订单的退款还没处理，客户一直在催我",
         "发票抬头写错了，需要重开", "label.pdf", "English"]
#: Case numbers, order ids, addresses, commands, the brand, and the placeholders the chat
#: panel's script fills in.
IDS = re.compile(r"CX-\d+|\d{3}-\d{7}-\d{7}|240518K7QW93XZ|\S+@\S+\.\w+|/[a-z]+\b|Ceylexo"
                 r"|\{[a-z_]+\}")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


class VisibleText(HTMLParser):
    """The text a seller sees or hears: text nodes (not scripts or styles) and the attributes
    shown or read out (title, placeholder, aria-label, alt, the chat panel's data-text-*)."""

    SHOWN = {"title", "placeholder", "aria-label", "alt"}

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._hidden += 1
        for name, value in attrs:
            if value and (name in self.SHOWN or name.startswith("data-text-")):
                self.texts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden and data.strip():
            self.texts.append(data)


def page_words(html: str) -> list[str]:
    """The page's own words: each visible text with people's words and ids taken out, the
    ones that are left (normalised spaces), in order."""
    parser = VisibleText()
    parser.feed(html)
    words = []
    for text in parser.texts:
        for typed in sorted(TYPED, key=len, reverse=True):
            text = text.replace(typed, " ")
        text = " ".join(IDS.sub(" ", text).split())
        if text:
            words.append(text)
    return words


def english_in(texts: list[str]) -> list[str]:
    return [text for text in texts if set(LATIN_WORD.findall(text)) - NAMES]


@dataclass
class Visit:
    """One page: a name, and how to fetch it in a language (its status and HTML)."""

    name: str
    status: int
    fetch: Callable[[str], Awaitable[httpx.Response]]


@pytest.fixture
async def served(db: Database) -> AsyncIterator[Served]:
    async with serving(db, frontdoor_portal=True, frontdoor_public_url=PUBLIC,
                       frontdoor_session_secret=SECRET, frontdoor_daily_case_cap=50,
                       frontdoor_max_attachment_mb=1,
                       frontdoor_smtp_url="smtp://127.0.0.1:9") as running:
        yield running


def _login_csrf(html: str) -> str:
    """The login form's token (a logged-in page has the session's token in its header too)."""
    found: list[str] = re.findall(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    return found[-1]


async def _logged_in(served: Served, seller_id: int, headers: dict[str, str],
                     ) -> httpx.AsyncClient:
    portal: Any = served.parts.extra["portal"]
    client = httpx.AsyncClient(base_url=str(served.http.base_url), timeout=15, headers=headers)
    token = portal.login.issue_token(seller_id)
    page = await client.get(f"/portal/login/{token}")
    answer = await client.post(f"/portal/login/{token}", data={"csrf_token": csrf_in(page.text)})
    assert answer.status_code == 303, answer.text
    return client


def _age(db: Database, number: str, days: int) -> None:
    """Closed ``days`` ago (beyond the reopen window when over it)."""
    moment = datetime.now(UTC) - timedelta(days=days)
    with db.sessions() as session:
        session.execute(update(CaseRow).where(CaseRow.number == number).values(
            closed_at=moment, status_changed_at=moment))
        session.commit()


async def test_every_portal_page_is_chinese_for_a_chinese_seller(served: Served,
                                                                 db: Database) -> None:
    seller = TelegramSeller(served, name="王芳")
    await seller.register()
    _identity, found = served.services.cases.identify("telegram", seller.chat)
    assert found is not None
    sid = found.id
    cases = served.services.cases
    portal: Any = served.parts.extra["portal"]
    portal.page_size = 4  # so that the list has pages

    active = cases.open_case(sid, "shipping", TYPED[0], ORDER).case.number
    cases.agent_reply(active, AGENT, TYPED[1], agent_name=TYPED[2])  # unread: highlighted
    pending = cases.open_case(sid, "payment", TYPED[5], ORDER2).case.number
    cases.change_status(pending, d.PENDING, reason="need the statement")
    resolved = cases.open_case(sid, "listing", TYPED[6]).case.number
    cases.change_status(resolved, d.RESOLVED, reason="relisted")
    rated = cases.open_case(sid, "advertising", TYPED[7]).case.number
    cases.change_status(rated, d.RESOLVED, reason="refunded")
    cases.evaluate(sid, rated, "so_so", reason_code="slow_reply")
    closed = cases.open_case(sid, "account_access", TYPED[8]).case.number
    cases.change_status(closed, d.CLOSED, reason="done")
    reopened_old = cases.open_case(sid, "inventory", TYPED[10]).case.number
    cases.change_status(reopened_old, d.CLOSED, reason="done")
    reopened_new = cases.reopen(sid, reopened_old, TYPED[11]).case.number
    too_old = cases.open_case(sid, "registration", TYPED[12]).case.number
    cases.change_status(too_old, d.CLOSED, reason="done")
    _age(db, too_old, 400)
    continued = cases.open_case(sid, "registration", TYPED[12] + "，补充", follows=too_old
                                ).case.number
    untyped = cases.open_case(sid, None, TYPED[9]).case.number
    all_numbers = [active, pending, resolved, rated, closed, reopened_old, reopened_new, too_old,
                   continued, untyped]

    def visits(client: httpx.AsyncClient, browser: dict[str, str]) -> list[Visit]:
        def get(url: str) -> Callable[[str], Awaitable[httpx.Response]]:
            return lambda _csrf_token: client.get(url)

        def post(url: str, data: dict[str, str], files: Any = None,
                 ) -> Callable[[str], Awaitable[httpx.Response]]:
            return lambda token: client.post(url, data={"csrf_token": token, **data},
                                              files=files)

        async def anonymous(url: str) -> httpx.Response:
            async with httpx.AsyncClient(base_url=str(served.http.base_url), timeout=15,
                                         headers=browser) as stranger:
                return await stranger.get(url)

        async def used_link(_token: str) -> httpx.Response:
            token = portal.login.issue_token(sid)
            async with httpx.AsyncClient(base_url=str(served.http.base_url), timeout=15,
                                         headers=browser) as other:
                page = await other.get(f"/portal/login/{token}")
                await other.post(f"/portal/login/{token}", data={"csrf_token": csrf_in(page.text)})
                again = await other.get(f"/portal/login/{token}")  # a new login form
                return await other.post(f"/portal/login/{token}",
                                        data={"csrf_token": _login_csrf(again.text)})

        async def expired_link(_token: str) -> httpx.Response:
            past = ManualClock(cases.clock.now() - timedelta(minutes=16))
            stale = PortalLogin(PUBLIC, SECRET, None, past).issue_token(sid)
            return await anonymous(f"/portal/login/{stale}")

        async def logged_out(_token: str) -> httpx.Response:
            other = await _logged_in(served, sid, browser)
            async with aclosing(other):
                token = csrf_in((await other.get("/portal/cases")).text)
                return await other.post("/portal/logout", data={"csrf_token": token})

        async def login_form_expired(_token: str) -> httpx.Response:
            return await client.post(f"/portal/login/{portal.login.issue_token(sid)}",
                                     data={"csrf_token": "stale"})

        case_pages = [Visit(f"case {n}", 200, get(f"/portal/cases/{n}")) for n in all_numbers]
        done = [Visit(f"done {what}", 200, get(f"/portal/cases/{active}?done={what}"))
                for what in ("replied", "evaluated", "urgent", "kept", "opened", "reopened",
                             "added")]
        six_files = [("files", (f"f{i}.txt", b"x", "text/plain")) for i in range(6)]
        return [
            Visit("list", 200, get("/portal/cases")),
            Visit("list closed", 200, get("/portal/cases?status=closed")),
            Visit("list all", 200, get("/portal/cases?status=all")),
            Visit("list all page 2", 200, get("/portal/cases?status=all&page=2")),
            Visit("search", 200, get(f"/portal/cases?q={ORDER}")),
            Visit("search nothing", 200, get("/portal/cases?q=99999")),
            *case_pages, *done,
            Visit("new case", 200, get("/portal/cases/new")),
            Visit("new case continuing", 200, get(f"/portal/cases/new?follows={too_old}")),
            Visit("new case refused", 400, post("/portal/cases/new", {
                "case_type": "bogus", "order_id": "12-34", "description": "短"})),
            Visit("new case without its order", 400, post("/portal/cases/new", {
                "case_type": "shipping", "description": TYPED[0]})),
            Visit("new case with too many files", 413, post("/portal/cases/new", {
                "case_type": "", "description": TYPED[11]}, six_files)),
            Visit("new case article", 200, post("/portal/cases/new", {
                "case_type": "payment", "order_id": ORDER2, "description": TYPED[5]})),
            Visit("new case existing", 200, post("/portal/cases/new", {
                "case_type": "payment", "order_id": ORDER2, "description": TYPED[5],
                "kb_seen": "1"})),
            Visit("empty reply", 400, post(f"/portal/cases/{active}/reply", {"text": ""})),
            Visit("reply with too many files", 413, post(f"/portal/cases/{active}/reply",
                                                         {"text": "好"}, six_files)),
            Visit("rating without level", 400, post(f"/portal/cases/{resolved}/evaluate", {})),
            Visit("rating without reason", 400, post(f"/portal/cases/{resolved}/evaluate",
                                                     {"level": "so_so"})),
            Visit("rated twice", 409, post(f"/portal/cases/{rated}/evaluate",
                                           {"level": "like"})),
            Visit("reopen without text", 400, post(f"/portal/cases/{closed}/reopen", {})),
            Visit("keep open while in progress", 409, post(f"/portal/cases/{active}/keep-open",
                                                           {})),
            Visit("not found", 404, get("/portal/cases/CX-999999")),
            Visit("file not found", 404, get("/portal/files/999999")),
            Visit("no such page", 404, get("/portal/nothing-here")),
            Visit("no such page, posted", 404, post("/portal/nothing-here", {})),
            Visit("no such page before login", 404,
                  lambda _t: anonymous("/portal/nothing/here")),
            Visit("form without its token", 403,
                  lambda _t: client.post(f"/portal/cases/{active}/reply", data={"text": "好"})),
            Visit("unknown language", 400, post("/portal/language", {"language": "xx"})),
            Visit("email settings", 200, get("/portal/email")),
            Visit("email address refused", 400, post("/portal/email", {"address": "不是邮箱"})),
            Visit("email link broken", 404, lambda _t: anonymous("/email/verify/forged")),
            Visit("login confirm", 200,
                  lambda _t: anonymous(f"/portal/login/{portal.login.issue_token(sid, active)}")),
            Visit("login link used", 410, used_link),
            Visit("login link expired", 410, expired_link),
            Visit("login link forged", 404, lambda _t: anonymous("/portal/login/forged.token")),
            Visit("login form expired", 403, login_form_expired),
            Visit("please log in", 401, lambda _t: anonymous("/portal/cases")),
            Visit("logged out", 200, logged_out),
        ]

    seen: dict[str, dict[str, list[str]]] = {}
    for language, browser in (("zh_CN", ZH_BROWSER), ("en", EN_BROWSER)):
        cases.set_preferences(sid, language)
        client = await _logged_in(served, sid, browser)
        async with aclosing(client):
            token = csrf_in((await client.get("/portal/cases/new")).text)
            seen[language] = {}
            for visit in visits(client, browser):
                answer = await visit.fetch(token)
                assert answer.status_code == visit.status, (visit.name, answer.text[:2000])
                assert answer.headers["content-type"].startswith("text/html"), visit.name
                seen[language][visit.name] = page_words(answer.text)

    problems = []
    for name, chinese in seen["zh_CN"].items():
        english = english_in(seen["en"][name])
        assert english, f"{name}: the English page has no English text to compare with"
        left = english_in(chinese)
        if left:
            problems.append(f"{name}: English on the Chinese page: {left}")
        survived = sorted(set(english) & set(chinese))
        if survived:
            problems.append(f"{name}: the English page's texts on the Chinese page: {survived}")
    assert not problems, "\n".join(problems)
    assert len(seen["zh_CN"]) == len(seen["en"]) == 54
