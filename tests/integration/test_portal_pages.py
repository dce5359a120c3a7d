"""The portal's rules and refusals over HTTP, on SQLite and PostgreSQL: the whole `frontdoor
serve` app under uvicorn (as in the relay tests), a plain HTTP client as the browser. What a
real browser shows is in test_portal_browser.py; here are the cases around it: CSRF, login
CSRF, the daily cap and declined on the new-case form, urgent and keep-open, paging and
search, and `frontdoor serve` refusing a portal without its settings (files:
test_portal_uploads.py)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import aclosing
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from bot import domain as d
from frontdoor.cli import app
from storage.database import Database
from storage.models import CaseRow
from tests.integration.portal_client import (
    csrf_in,
    csrf_of,
    portal_files,
    portal_serving,
    seller_in,
)
from tests.integration.serve_relay_support import (
    AGENT,
    ORDER,
    SUPPORT,
    Served,
    TelegramSeller,
    next_agent_ts,
)
from tests.standins import slack_api


@pytest.fixture
async def served(db: Database) -> AsyncIterator[Served]:
    async with portal_serving(db) as running:
        yield running


async def test_forms_need_the_sessions_csrf_token_and_pages_need_a_login(served: Served) -> None:
    seller_id, client = await seller_in(served)
    async with aclosing(client):
        case = served.services.cases.open_case(seller_id, "shipping", "My parcel never arrived",
                                               ORDER)
        number = case.case.number
        before = len(served.services.cases.get_case(number).messages)
        for data in ({"text": "no token"}, {"text": "wrong", "csrf_token": "x" * 43}):
            refused = await client.post(f"/portal/cases/{number}/reply", data=data)
            assert refused.status_code == 403 and "expired" in refused.text
        assert len(served.services.cases.get_case(number).messages) == before
        ok = await client.post(f"/portal/cases/{number}/reply",
                               data={"text": "with the token", "csrf_token": await csrf_of(client)})
        assert ok.status_code == 303
        assert len(served.services.cases.get_case(number).messages) == before + 1

    anonymous = await served.http.get("/portal/cases")
    assert anonymous.status_code == 401 and "/web" in anonymous.text


async def test_a_login_post_from_another_site_is_refused(served: Served) -> None:
    seller = TelegramSeller(served)
    await seller.register()
    _identity, found = served.services.cases.identify("telegram", seller.chat)
    assert found is not None
    token = served.parts.extra["portal"].login.issue_token(found.id)
    # No login cookie (another site's form cannot have it): refused, and the link not spent.
    forged = await served.http.post(f"/portal/login/{token}", data={"csrf_token": "abc"})
    assert forged.status_code == 403
    assert served.parts.extra["portal"].login.check(token).seller_id == found.id
    assert served.parts.extra["portal"].login.redeem(token).seller_id == found.id


async def test_new_case_form_keeps_the_daily_cap_and_refuses_declined(served: Served,
                                                                      db: Database) -> None:
    seller_id, client = await seller_in(served)
    cases = served.services.cases
    async with aclosing(client):
        declined = cases.open_case(seller_id, "shipping", "Lost parcel, please refund", ORDER)
        cases.change_status(declined.case.number, d.DECLINED, reason="delivered per carrier")
        form = {"case_type": "shipping", "order_id": ORDER, "csrf_token": await csrf_of(client),
                "description": "The parcel is still not here, please check again"}
        refused = await client.post("/portal/cases/new", data=form,
                                    files={"files": ("label.pdf", b"%PDF", "application/pdf")})
        assert refused.status_code == 409 and "declined" in refused.text
        assert "delivered per carrier" in refused.text
        assert portal_files(db) == 0  # the refused form's file is not kept

        for n in range(2):  # the cap is 3 in 24 hours; the declined case counts
            opened = await client.post("/portal/cases/new", data={
                **form, "order_id": f"123-1234567-123456{n}", "description":
                f"Parcel number {n} never arrived at the customer"})
            assert opened.status_code == 303, opened.text
        capped = await client.post("/portal/cases/new", data={
            **form, "order_id": "123-1234567-7654321"})
        assert capped.status_code == 409 and "limit of 3 new cases" in capped.text
        assert len(cases.list_cases(seller_id, "all")) == 3

        bad = await client.post("/portal/cases/new", data={
            **form, "order_id": "not an order", "case_type": "bogus", "description": "short"})
        assert bad.status_code == 400
        assert "does not look like an order id" in bad.text and "Choose a type" in bad.text


async def test_urgent_and_keep_open_follow_the_rules(served: Served) -> None:
    seller_id, client = await seller_in(served)
    cases = served.services.cases
    async with aclosing(client):
        number = cases.open_case(seller_id, "shipping", "Parcel lost in transit", ORDER).case.number
        page = await client.get(f"/portal/cases/{number}")
        assert "Mark urgent" in page.text and "Keep open" not in page.text
        token = csrf_in(page.text)
        assert (await client.post(f"/portal/cases/{number}/urgent",
                                  data={"csrf_token": token})).status_code == 303
        assert cases.get_case(number).case.urgent
        assert "Mark urgent" not in (await client.get(f"/portal/cases/{number}")).text

        # Keep open only while it waits for the seller (or is resolved), a limited number of
        # times (2 by default): the third is refused with the rule's reason.
        refused = await client.post(f"/portal/cases/{number}/keep-open", data={"csrf_token": token})
        assert refused.status_code == 409
        cases.change_status(number, d.PENDING, reason="need the tracking number")
        for _ in range(2):
            kept = await client.post(f"/portal/cases/{number}/keep-open",
                                     data={"csrf_token": token})
            assert kept.status_code == 303
        third = await client.post(f"/portal/cases/{number}/keep-open", data={"csrf_token": token})
        assert third.status_code == 409 and "already been kept open as long as we can" in third.text
        assert cases.get_case(number).case.keep_open_count == 2


async def test_the_list_pages_and_searches_only_the_sellers_cases(served: Served) -> None:
    seller_id, client = await seller_in(served)
    other_id, other = await seller_in(served, name="Bob")
    cases = served.services.cases
    portal: Any = served.parts.extra["portal"]
    portal.page_size = 4
    async with aclosing(client), aclosing(other):
        numbers = [cases.open_case(seller_id, "listing",
                                   f"My listing for item SKU-{n:03d} is suppressed",
                                   subject=f"sku{n:03d}").case.number for n in range(3)]
        cases.rules = cases.rules.__class__(**{**cases.rules.__dict__, "daily_case_cap": 50})
        numbers += [cases.open_case(seller_id, "shipping", "Lost parcel in transit",
                                    f"123-1234567-00000{n}").case.number for n in range(6)]
        first = await client.get("/portal/cases")
        assert first.status_code == 200 and "9 cases" in first.text and "Page 1 of 3" in first.text
        assert numbers[-1] in first.text and numbers[0] not in first.text  # newest first
        last = await client.get("/portal/cases?status=in_progress&page=3")
        assert numbers[0] in last.text
        found = await client.get("/portal/cases", params={"q": "123-1234567-000004"})
        assert "1 case matching" in found.text and numbers[7] in found.text
        by_number = await client.get("/portal/cases", params={"q": numbers[2].lower()})
        assert "1 case matching" in by_number.text
        assert "0 cases" in (await other.get("/portal/cases")).text
        assert (await other.get(f"/portal/cases/{numbers[0]}")).status_code == 404
        assert (await other.get("/portal/cases/nonsense")).status_code == 404
        assert other_id != seller_id


def test_serve_refuses_to_start_a_portal_without_its_settings(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:x")
    monkeypatch.setenv("TELEGRAM_MODE", "polling")
    monkeypatch.setenv("FRONTDOOR_PORTAL", "true")
    monkeypatch.setenv("FRONTDOOR_PUBLIC_URL", "https://support.example")
    monkeypatch.setenv("FRONTDOOR_SESSION_SECRET", "too-short")
    result = CliRunner().invoke(app, ["serve", "--no-migrate"])
    assert result.exit_code == 2
    assert "FRONTDOOR_SESSION_SECRET" in result.output
    monkeypatch.delenv("FRONTDOOR_PUBLIC_URL")
    result = CliRunner().invoke(app, ["serve", "--no-migrate"])
    assert result.exit_code == 2 and "FRONTDOOR_PUBLIC_URL" in result.output


async def test_a_main_account_and_its_sub_account_see_only_their_own_cases(
        served: Served) -> None:
    main_id, main = await seller_in(served, name="Main")
    cases = served.services.cases
    invitation = cases.create_invitation("Warehouse desk", sub_account_of=main_id)
    identity, _ = cases.identify("telegram", "sub-account-user")
    sub_id = cases.register(identity.id, invitation.code).id
    portal: Any = served.parts.extra["portal"]
    sub = httpx.AsyncClient(base_url=str(served.http.base_url), timeout=15)
    token = portal.login.issue_token(sub_id)
    page = await sub.get(f"/portal/login/{token}")
    assert (await sub.post(f"/portal/login/{token}",
                           data={"csrf_token": csrf_in(page.text)})).status_code == 303
    async with aclosing(main), aclosing(sub):
        mine = cases.open_case(main_id, "shipping", "Main account parcel lost", ORDER).case
        theirs = cases.open_case(sub_id, "shipping", "Sub-account parcel lost", ORDER).case
        assert (await main.get(f"/portal/cases/{theirs.number}")).status_code == 404
        assert (await sub.get(f"/portal/cases/{mine.number}")).status_code == 404
        listed = (await sub.get("/portal/cases")).text
        assert theirs.number in listed and mine.number not in listed
        refused = await sub.post(f"/portal/cases/{mine.number}/reply", data={
            "text": "not mine", "csrf_token": csrf_in(listed)})
        assert refused.status_code == 404
        assert len(cases.get_case(mine.number).messages) == 1


async def test_a_case_closed_too_long_ago_is_continued_by_a_linked_new_case(
        served: Served) -> None:
    seller_id, client = await seller_in(served)
    cases = served.services.cases
    async with aclosing(client):
        old = cases.open_case(seller_id, "shipping", "Parcel lost in transit", ORDER).case
        cases.change_status(old.number, d.CLOSED, reason="found")
        closed_at = cases.get_case(old.number).case.closed_at
        assert closed_at is not None
        with served.services.database.sessions() as session:
            session.execute(update(CaseRow).where(CaseRow.id == old.id).values(
                closed_at=closed_at - timedelta(days=31)))
            session.commit()
        page = await client.get(f"/portal/cases/{old.number}")
        assert f"/portal/cases/new?follows={old.number}" in page.text
        assert "Reopen this case" not in page.text
        form = await client.get(f"/portal/cases/new?follows={old.number}")
        assert f"continues {old.number}" in form.text
        opened = await client.post("/portal/cases/new", data={
            "case_type": "shipping", "order_id": ORDER, "follows": old.number,
            "description": "The parcel went missing again this month",
            "csrf_token": csrf_in(form.text)})
        assert opened.status_code == 303, opened.text
        new_number = opened.headers["location"].split("/portal/cases/")[1].split("?")[0]
        assert f"continues <a href=\"/portal/cases/{old.number}\"" in (
            await client.get(f"/portal/cases/{new_number}")).text
        assert f"Continued in <a href=\"/portal/cases/{new_number}\"" in (
            await client.get(f"/portal/cases/{old.number}")).text


async def test_a_file_an_agent_shares_in_slack_downloads_from_the_case_page(
        served: Served) -> None:
    seller = TelegramSeller(served)
    await seller.register()
    opened = await seller.open_case(f"my order {ORDER} never arrived, please help")
    _identity, found = served.services.cases.identify("telegram", seller.chat)
    assert found is not None
    hosted = served.slack.host_file("proof.pdf", b"%PDF carrier proof", "application/pdf")
    event = slack_api.thread_reply_event(SUPPORT, opened.parent_ts, "Here is the proof",
                                         user=AGENT, ts=next_agent_ts())
    event.update(subtype="file_share", files=[hosted])
    assert (await served.slack_event(event)).status_code == 200
    await served.wait_inbox_empty()
    portal: Any = served.parts.extra["portal"]
    async with httpx.AsyncClient(base_url=str(served.http.base_url), timeout=15) as client:
        token = portal.login.issue_token(found.id)
        page = await client.get(f"/portal/login/{token}")
        await client.post(f"/portal/login/{token}", data={"csrf_token": csrf_in(page.text)})
        case_page = (await client.get(f"/portal/cases/{opened.number}")).text
        link = re.search(rf'href="(/portal/cases/{opened.number}/agent-files/\d+/0)"', case_page)
        assert link, case_page
        got = await client.get(link.group(1))
        assert got.status_code == 200 and got.content == b"%PDF carrier proof"
        assert "attachment" in got.headers["content-disposition"]
        assert (await client.get(link.group(1)[:-1] + "7")).status_code == 404
    # Another seller cannot fetch it through their own session.
    _other, stranger = await seller_in(served, name="Mallory")
    async with aclosing(stranger):
        assert (await stranger.get(link.group(1))).status_code == 404


async def test_bad_input_gets_a_4xx_page_never_a_500(served: Served) -> None:
    _seller_id, client = await seller_in(served)
    async with aclosing(client):
        token = await csrf_of(client)
        for path in ("/portal/cases?page=abc&status=nonsense&q=" + "x" * 5000,
                     "/portal/cases?page=-5", "/portal/cases?page=99999999999999999999"):
            assert (await client.get(path)).status_code == 200, path
        for path in ("/portal/cases/%00", "/portal/cases/CX-999999", "/portal/files/abc",
                     "/portal/files/99999999999999999999999", "/portal/login/%FF%FE",
                     "/portal/cases/CX-000001/agent-files/x/y"):
            answer = await client.get(path)
            assert 400 <= answer.status_code < 500, (path, answer.status_code)
        posts = [("/portal/cases/new", {"csrf_token": token, "case_type": "\x00" * 10,
                                        "description": "broken"}),
                 ("/portal/cases/new", {"csrf_token": token, "description": "y" * 70_000}),
                 ("/portal/cases/CX-000001/evaluate", {"csrf_token": token, "level": "x"}),
                 ("/portal/logout", {"csrf_token": "wrong"})]
        for path, data in posts:
            answer = await client.post(path, data=data)
            assert 400 <= answer.status_code < 500, (path, answer.status_code, answer.text[:200])
        invalid_utf8 = await client.post(
            "/portal/cases/new", content=f"csrf_token={token}&description=%ED%A0%80%FF".encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert 400 <= invalid_utf8.status_code < 500
        multipart = await client.post("/portal/cases/new", content=b"--broken\r\n\r\n",
                                      headers={"Content-Type": "multipart/form-data; boundary=x"})
        assert 400 <= multipart.status_code < 500


async def test_dates_are_in_the_sellers_language_and_time_zone(served: Served, db: Database,
                                                               ) -> None:
    """Dates on the list and the case page follow the seller's stored language and zone (Babel,
    via bot.i18n): 16:45 UTC reads 00:45 the next day in Shanghai, written the Chinese way."""
    seller_id, client = await seller_in(served)
    cases = served.services.cases
    async with aclosing(client):
        number = cases.open_case(seller_id, "shipping", "Parcel lost in transit", ORDER).case.number
        moment = datetime(2026, 11, 30, 16, 45, tzinfo=UTC)
        with db.sessions() as session:
            session.execute(update(CaseRow).where(CaseRow.number == number).values(
                updated_at=moment))
            session.commit()
        english = await client.get("/portal/cases")
        assert "Nov 30, 2026 4:45" in english.text and "UTC" in english.text
        cases.set_preferences(seller_id, "zh_CN", "Asia/Shanghai")
        chinese = await client.get("/portal/cases")
        assert "2026年12月1日 00:45" in chinese.text, chinese.text
        page = await client.get(f"/portal/cases/{number}")
        assert "2026年12月1日 00:45" in page.text
        assert "← 我的工单" in page.text and "最近动态：2026年12月1日 00:45" in page.text
        assert "您 · " in page.text  # the seller's own message, labelled in Chinese
        # The list's own words are the seller's language too (bot/texts.py via Babel).
        assert "<h1>我的工单</h1>" in chinese.text and "最近动态：2026年12月1日" in chinese.text
        assert "退出登录" in chinese.text and "Log out" not in chinese.text
        assert "<h1>My cases</h1>" in english.text and "Last activity Nov 30" in english.text


async def test_the_language_selector_stores_the_sellers_choice(served: Served) -> None:
    """The portal's selector stores the same choice as the chat's /language; an unknown
    language is refused with 400, and the way back stays on the portal."""
    seller_id, client = await seller_in(served)
    cases = served.services.cases
    async with aclosing(client):
        page = await client.get("/portal/cases")
        assert 'name="language"' in page.text and "简体中文" in page.text
        token = csrf_in(page.text)
        chosen = await client.post("/portal/language", data={
            "csrf_token": token, "language": "zh_CN", "back": "/portal/cases?status=all"})
        assert chosen.status_code == 303
        assert chosen.headers["location"] == "/portal/cases?status=all"
        seller = cases.identify("telegram", _chat_of(served, seller_id))[1]
        assert seller is not None and seller.language == "zh_CN"
        assert '<option value="zh_CN" selected' in (await client.get("/portal/cases")).text
        elsewhere = await client.post("/portal/language", data={
            "csrf_token": token, "language": "en", "back": "https://evil.example/"})
        assert elsewhere.headers["location"] == "/portal/cases"
        bad = await client.post("/portal/language", data={"csrf_token": token, "language": "xx"})
        assert bad.status_code == 400
        no_token = await client.post("/portal/language", data={"language": "zh_CN"})
        assert no_token.status_code == 403


def _chat_of(served: Served, seller_id: int) -> str:
    with served.services.uow_factory() as uow:
        return next(i.external_id for i in uow.identities.for_seller(seller_id)
                    if i.channel == "telegram")
