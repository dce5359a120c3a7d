"""The seller portal in a real browser: Debian's Chromium driven by Playwright, against the
whole `frontdoor serve` app under uvicorn with the Telegram and Slack stand-ins (the same
server the relay tests run). Sellers get their link from the bot (/web on Telegram); agents
answer through signed /slack/events. Every page visited is screenshotted into
tests/output/portal/<test>/ (ignored by git).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright
from sqlalchemy import select

from bot.clock import ManualClock
from bot.portal_login import PortalLogin
from storage.database import Database
from storage.models import CaseMessageRow
from tests.integration.serve_relay_support import (
    ORDER,
    ORDER2,
    SUPPORT,
    WAIT,
    Served,
    TelegramSeller,
    serving,
    wait_in_thread,
)

PUBLIC = "https://portal.example"
SECRET = "portal-test-secret-of-at-least-32-characters"
OUTPUT = Path(__file__).resolve().parents[1] / "output" / "portal"


def chromium_path() -> str:
    """Debian's chromium (`make test` installs it); never skipped: a missing browser fails."""
    found = os.environ.get("FRONTDOOR_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(found).exists():
        pytest.fail("The portal's browser tests need Debian's chromium: run `make test` (it "
                    "installs it when it can) or `sudo apt-get install -y chromium`; or set "
                    "FRONTDOOR_CHROMIUM to a Chromium binary.")
    return found


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium_path())
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def served(sqlite_db: Database) -> AsyncIterator[Served]:
    async with serving(sqlite_db, frontdoor_portal=True, frontdoor_public_url=PUBLIC,
                       frontdoor_session_secret=SECRET) as running:
        yield running


class Shots:
    """Screenshots of each page, numbered in the order they were taken."""

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self.folder = OUTPUT / re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        self.count = 0

    async def take(self, page: Page, name: str) -> None:
        self.count += 1
        await page.screenshot(path=str(self.folder / f"{self.count:02d}-{name}.png"),
                              full_page=True)


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Shots:
    return Shots(request)


def base(served: Served) -> str:
    return str(served.http.base_url).rstrip("/")


def local(served: Served, link: str) -> str:
    """The link the bot sent (under FRONTDOOR_PUBLIC_URL), on the server under test."""
    assert link.startswith(PUBLIC), link
    return base(served) + link[len(PUBLIC):]


async def link_from_bot(served: Served, seller: TelegramSeller, command: str = "/web") -> str:
    sent = await seller.say(command, expect="works once")
    assert sent is not None
    found = re.search(rf"{re.escape(PUBLIC)}/portal/login/\S+", sent["text"])
    assert found, sent["text"]
    return local(served, found.group(0))


def seller_id(served: Served, seller: TelegramSeller) -> int:
    _identity, found = served.services.cases.identify("telegram", seller.chat)
    assert found is not None
    return found.id


async def log_in(page: Page, link: str, shots: Shots | None = None) -> None:
    await page.goto(link)
    if shots:
        await shots.take(page, "login-confirm")
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_load_state()


async def new_page(browser: Browser) -> Page:
    context = await browser.new_context(viewport={"width": 390, "height": 844})  # a phone
    return await context.new_page()


async def test_login_by_link_list_filter_search_and_unread_highlight(
        served: Served, browser: Browser, shots: Shots) -> None:
    seller = TelegramSeller(served)
    await seller.register()
    shipping = await seller.open_case(f"my order {ORDER} never arrived, the parcel is lost")
    cases = served.services.cases
    sid = seller_id(served, seller)
    refund = cases.open_case(sid, "order", f"I want a refund for {ORDER2}, wrong size", ORDER2)
    closed = cases.open_case(sid, None, "Question about the fee schedule for this month")
    cases.change_status(closed.case.number, "closed", reason="answered")
    await served.agent_writes(shipping.parent_ts, "We are tracing the parcel with the carrier")
    await seller.served.telegram.wait_for(
        "sendMessage", timeout=WAIT, where=lambda r: "tracing the parcel" in r.get("text", ""))

    page = await new_page(browser)
    await log_in(page, await link_from_bot(served, seller), shots)
    await page.wait_for_url("**/portal/cases")
    await shots.take(page, "my-cases")
    rows = page.locator("li.case-row")
    assert await rows.count() == 2  # In progress by default
    row = page.locator(f"li.case-row[data-number='{shipping.number}']")
    assert "Updated" in await row.inner_text()
    assert "In progress" in await row.inner_text()
    assert "Shipping" in await row.inner_text() and ORDER in await row.inner_text()

    await page.get_by_role("link", name="Closed").click()
    await shots.take(page, "my-cases-closed")
    assert await rows.count() == 1
    closed_row = await rows.first.inner_text()
    assert closed.case.number in closed_row and "Closed" in closed_row and "UTC" in closed_row

    await page.get_by_role("link", name="All").click()
    assert await rows.count() == 3
    await page.get_by_role("searchbox").fill(ORDER2)
    await page.get_by_role("button", name="Search").click()
    await shots.take(page, "search-order")
    assert await rows.count() == 1 and refund.case.number in await rows.first.inner_text()
    digits = shipping.number.split("-")[1].lstrip("0")
    await page.get_by_role("searchbox").fill(f"cx {digits}")  # as sellers type case numbers
    await page.get_by_role("button", name="Search").click()
    assert await rows.count() == 1 and shipping.number in await rows.first.inner_text()

    await page.get_by_role("link", name=re.compile("Shipping")).click()
    await shots.take(page, "case-unread")
    unread = page.locator("ol.messages li.unread")
    assert await unread.count() == 1
    assert "tracing the parcel" in await unread.inner_text()
    # Latest on top: the agent's reply comes before the seller's description.
    first = await page.locator("ol.messages li").first.inner_text()
    assert "tracing the parcel" in first
    await page.reload()
    assert await page.locator("ol.messages li.unread").count() == 0
    with served.services.database.sessions() as session:
        assert session.scalar(select(CaseMessageRow.read_at).where(
            CaseMessageRow.text.contains("tracing the parcel"))) is not None
    await shots.take(page, "case-read")

    # A reply with a file lands in the Slack thread, the file copied there.
    mark = served.slack.mark()
    await page.get_by_label("Your message").fill("Here is the shipping label")
    await page.get_by_label(re.compile("Images or files")).set_input_files(
        files=[{"name": "label.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 label"}])
    await page.get_by_role("button", name="Send").click()
    await page.wait_for_url(re.compile(r"done=replied"))
    await shots.take(page, "case-replied")
    assert "added to the case" in await page.locator(".notice").inner_text()
    assert "label.pdf" in await page.locator("ol.messages li").first.inner_text()
    await wait_in_thread(served, shipping.parent_ts, "Here is the shipping label", since=mark)
    await served.slack.wait_for("files.completeUploadExternal", since=mark, timeout=WAIT)
    shared = served.slack.shared_files(SUPPORT, shipping.parent_ts)
    assert [f.get("name") or f.get("title") for f in shared][-1] == "label.pdf"
    # The seller can download their own file; the link is on the page.
    href = await page.get_by_role("link", name="label.pdf").get_attribute("href")
    assert href is not None
    got = await page.request.get(base(served) + href)
    assert got.status == 200 and await got.body() == b"%PDF-1.4 label"


async def test_evaluate_then_reopen_with_a_file_gives_a_linked_number(
        served: Served, browser: Browser, shots: Shots) -> None:
    seller = TelegramSeller(served)
    await seller.register()
    opened = await seller.open_case(f"my order {ORDER} never arrived, three weeks now")
    cases = served.services.cases
    cases.change_status(opened.number, "resolved", reason="carrier found it")

    page = await new_page(browser)
    await log_in(page, await link_from_bot(served, seller, f"/web {opened.number}"))
    await page.wait_for_url(f"**/portal/cases/{opened.number}")
    await shots.take(page, "resolved-case")
    await page.get_by_role("radio", name="So-so").check()
    await page.get_by_label(re.compile("What went wrong")).select_option("slow_reply")
    await page.get_by_role("button", name="Send rating").click()
    await page.wait_for_url(re.compile("done=evaluated"))
    await shots.take(page, "evaluated")
    rating = await page.locator("#evaluation").inner_text()
    assert "So-so" in rating and "Slow" in rating
    assert await page.get_by_role("button", name="Send rating").count() == 0  # once
    evaluation = cases.get_case(opened.number).evaluation
    assert evaluation is not None and evaluation.level == "so_so"
    assert evaluation.reason_code == "slow_reply"

    cases.change_status(opened.number, "closed", reason="done")
    await page.reload()
    await page.get_by_label("What is still wrong?").fill("The parcel arrived damaged")
    await page.get_by_label(re.compile("Images or files")).set_input_files(
        files=[{"name": "damage.png", "mimeType": "image/png", "buffer": PNG}])
    await shots.take(page, "reopen-form")
    await page.get_by_role("button", name="Reopen").click()
    await page.wait_for_url(re.compile("done=reopened"))
    await shots.take(page, "reopened")
    new_number = page.url.split("/portal/cases/")[1].split("?")[0]
    assert new_number != opened.number
    assert opened.number in await page.locator("#reopened-from").inner_text()
    assert await page.locator("img[alt='damage.png']").count() == 1
    await page.get_by_role("link", name=opened.number).click()
    assert new_number in await page.locator("#reopened-as").inner_text()
    await shots.take(page, "old-case-linked")
    assert cases.get_case(new_number).case.status == "open"


async def test_a_new_case_meets_the_article_then_the_existing_case(
        served: Served, browser: Browser, shots: Shots) -> None:
    seller = TelegramSeller(served)
    await seller.register()
    sid = seller_id(served, seller)
    cases = served.services.cases
    existing = cases.open_case(sid, "payment", f"The payout for {ORDER} is missing", ORDER)
    before = len(cases.get_case(existing.case.number).messages)

    page = await new_page(browser)
    await log_in(page, await link_from_bot(served, seller))
    await page.get_by_role("link", name="New case").click()
    await page.get_by_label("What is it about?").select_option("payment")
    await page.get_by_label(re.compile("Order id")).fill(ORDER)
    await page.get_by_label("Describe the problem").fill("Still no payout for this order, "
                                                         "it has been two weeks")
    await page.get_by_label(re.compile("Images or files")).set_input_files(
        files=[{"name": "statement.txt", "mimeType": "text/plain", "buffer": b"balance 0"}])
    await shots.take(page, "new-case-form")
    await page.get_by_role("button", name="Open the case").click()
    await shots.take(page, "new-case-article")
    assert await page.locator("#article").count() == 1  # self-help first (rule 9)
    await page.get_by_role("button", name="No, open the case").click()
    await shots.take(page, "new-case-existing")
    assert existing.case.number in await page.locator("#existing").inner_text()
    await page.get_by_role("button", name=f"Add my message to {existing.case.number}").click()
    await page.wait_for_url(re.compile(f"{existing.case.number}.*done=added"))
    await shots.take(page, "added-to-existing")
    detail = cases.get_case(existing.case.number)
    assert len(detail.messages) == before + 1
    assert detail.messages[-1].attachments[0]["file_name"] == "statement.txt"
    assert len(cases.list_cases(sid, "all")) == 1  # no duplicate


async def test_another_sellers_case_and_file_are_not_found_and_bad_links_explain(
        served: Served, browser: Browser, shots: Shots) -> None:
    owner = TelegramSeller(served, name="Owner")
    await owner.register()
    other = TelegramSeller(served, name="Other")
    await other.register()
    cases = served.services.cases
    portal: Any = served.parts.extra["portal"]
    owner_id = seller_id(served, owner)
    file_id = portal.queries.add_file(owner_id, "secret.pdf", "application/pdf", b"x",
                                      cases.clock.now())
    case = cases.open_case(owner_id, "listing", "My listing for the red mug is suppressed",
                           attachments=[{"kind": "document", "file_id": str(file_id),
                                         "file_name": "secret.pdf", "source": "web"}])

    page = await new_page(browser)
    link = await link_from_bot(served, other)
    await log_in(page, link)
    response = await page.goto(f"{base(served)}/portal/cases/{case.case.number}")
    assert response is not None and response.status == 404
    await shots.take(page, "other-sellers-case")
    assert "no such case" in (await page.locator("main").inner_text()).lower()
    response = await page.goto(f"{base(served)}/portal/files/{file_id}")
    assert response is not None and response.status == 404
    assert await page.locator("li.case-row").count() == 0  # nothing of the owner's listed

    # The link was used: a clear page with how to get a new one.
    await log_in(page, link)
    await shots.take(page, "link-used")
    assert "already used" in await page.locator("h1").inner_text()
    assert "/web" in await page.locator("main").inner_text()
    # Expired (issued 16 minutes ago) and forged links.
    past = ManualClock(cases.clock.now() - timedelta(minutes=16))
    stale = PortalLogin(PUBLIC, SECRET, None, past).issue_link(seller_id(served, other))
    response = await page.goto(local(served, stale))
    assert response is not None and response.status == 410
    assert "expired" in await page.locator("h1").inner_text()
    await shots.take(page, "link-expired")
    response = await page.goto(local(served, f"{PUBLIC}/portal/login/forged.token"))
    assert response is not None and response.status == 404
    assert "not valid" in await page.locator("h1").inner_text()

    # Logging out ends the session.
    await page.goto(f"{base(served)}/portal/cases")
    await page.get_by_role("button", name="Log out").click()
    await shots.take(page, "logged-out")
    response = await page.goto(f"{base(served)}/portal/cases")
    assert response is not None and response.status == 401


# A 1x1 PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")
