"""The web chat in a real browser (Debian's Chromium via Playwright) on the whole `frontdoor
serve` app: a seller logged in to the portal opens a case from the chat panel, pressing the
bot's real buttons, and an agent's reply in the Slack thread (a signed /slack/events request
to the stand-in's workspace) appears in the panel live, without a reload, and counts as read
once the open panel shows it (a reply that arrives while the panel is closed stays unread until
it is opened). Images and files sent from the panel land in the case's Slack thread like a
Telegram file; one over the chat's size limit is refused with the reason shown in the panel.
With mail on, the portal's navigation links the email settings page.
Screenshots go to tests/output/portal/<test>/."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import select

from storage.database import Database
from storage.models import CaseMessageRow, CaseRow, IdentityRow
from tests.integration import test_portal_browser as portal
from tests.integration.serve_relay_support import (
    ORDER,
    SUPPORT,
    WAIT,
    Served,
    TelegramSeller,
    serving,
    wait_in_thread,
)
from tests.integration.test_email_smtp import Mailbox, smtp_server
from tests.integration.test_portal_browser import (
    PUBLIC,
    SECRET,
    Shots,
    link_from_bot,
    log_in,
    new_page,
)

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
PDF = b"%PDF-1.7\n" + bytes(range(255, -1, -1)) * 8

# The portal's browser tests' fixtures: the browser, the server with the portal, screenshots.
browser = portal.browser
served = portal.served
shots = portal.shots


async def test_the_web_chat_opens_a_case_and_shows_the_agents_reply_live(
        served: Served, browser: Browser, shots: Shots) -> None:
    seller = TelegramSeller(served)
    await seller.register()
    page = await new_page(browser)
    await log_in(page, await link_from_bot(served, seller))
    await page.wait_for_url("**/portal/cases")
    await page.get_by_text("Chat with support").click()
    panel = page.locator("#chat-log")
    await expect(page.locator("#chat[data-connected='1']")).to_have_count(1, timeout=WAIT * 1000)

    number, parent_ts = await open_case_in_panel(served, page, shots)

    # The agent answers in the thread: the panel shows it without a reload.
    url_before = page.url
    await served.agent_writes(parent_ts, "We found your parcel, it arrives tomorrow")
    await expect(panel).to_contain_text("We found your parcel", timeout=WAIT * 1000)
    assert page.url == url_before
    await shots.take(page, "chat-agent-reply")

    await read(served, "We found your parcel")

    # With the panel closed the next reply arrives but is not seen: unread until it is opened.
    await page.get_by_text("Chat with support").click()
    await served.agent_writes(parent_ts, "Tracking number attached to the case")
    await expect(panel).to_contain_text("Tracking number", timeout=WAIT * 1000)
    assert unread_text(served, "Tracking number")
    await page.get_by_text("Chat with support").click()
    await read(served, "Tracking number")
    await shots.take(page, "chat-reopened")
    await page.context.close()


def unread_text(served: Served, fragment: str) -> bool:
    with served.services.database.sessions() as session:
        return session.scalar(select(CaseMessageRow.read_at).where(
            CaseMessageRow.text.contains(fragment))) is None


async def read(served: Served, fragment: str) -> None:
    """Until the agent reply containing ``fragment`` is marked read."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while unread_text(served, fragment):
        assert loop.time() < deadline, f"the reply {fragment!r} seen in the panel is not read"
        await asyncio.sleep(0.05)


async def open_case_in_panel(served: Served, page: Page,
                             shots: Shots | None = None) -> tuple[str, str]:
    """Open a case from the panel (pressing the bot's button); its number and Slack thread."""
    panel = page.locator("#chat-log")
    await page.locator("#chat-text").fill(f"my parcel for order {ORDER} never arrived")
    await page.locator("#chat-text").press("Enter")
    await expect(panel).to_contain_text("Open it?", timeout=WAIT * 1000)
    if shots:
        await shots.take(page, "chat-asks")
    mark = served.slack.mark()
    await panel.get_by_role("button", name="Open the case").click()
    await expect(panel).to_contain_text("Opened", timeout=WAIT * 1000)
    found = re.search(r"CX-\d{6}", await panel.inner_text())
    assert found, await panel.inner_text()
    number = found.group(0)
    if shots:
        await shots.take(page, "chat-opened")

    # The case was opened from the seller's web chat identity, and reached the agents.
    with served.services.database.sessions() as session:
        case = session.scalar(select(CaseRow).where(CaseRow.number == number))
        assert case is not None
        identity = session.get(IdentityRow, case.identity_id)
        assert identity is not None and identity.channel == "web"
    parent = await served.slack.wait_for(
        "chat.postMessage", since=mark, timeout=WAIT,
        where=lambda r: r.get("channel") == SUPPORT and not r.get("thread_ts")
        and number in r.get("text", ""))
    parent_ts = str(parent.response["ts"])
    await served.slack.wait_for("chat.postMessage", since=mark, timeout=WAIT,
                                where=lambda r: r.get("thread_ts") == parent_ts)
    return number, parent_ts


@pytest.fixture
async def served_with_mail(sqlite_db: Database) -> AsyncIterator[Served]:
    """The portal with email on (a local aiosmtpd) and a 1 MB limit per file."""
    async with smtp_server(Mailbox()) as port, serving(
            sqlite_db, frontdoor_portal=True, frontdoor_public_url=PUBLIC,
            frontdoor_session_secret=SECRET, frontdoor_smtp_url=f"smtp://127.0.0.1:{port}",
            frontdoor_max_attachment_mb=1) as running:
        yield running


async def test_files_from_the_panel_land_in_the_slack_thread_and_big_ones_are_refused(
        served_with_mail: Served, browser: Browser, shots: Shots) -> None:
    served = served_with_mail
    seller = TelegramSeller(served)
    await seller.register()
    page = await new_page(browser)
    await log_in(page, await link_from_bot(served, seller))
    await page.wait_for_url("**/portal/cases")
    # The navigation links the email settings page (mail is on here).
    await page.get_by_role("link", name="Email notifications").click()
    await page.wait_for_url("**/portal/email")
    current = page.get_by_role("navigation").get_by_role("link", name="Email notifications")
    assert await current.get_attribute("aria-current") == "page"
    await shots.take(page, "email-settings-in-nav")

    await page.get_by_text("Chat with support").click()
    await expect(page.locator("#chat[data-connected='1']")).to_have_count(1, timeout=WAIT * 1000)
    number, parent_ts = await open_case_in_panel(served, page)
    panel = page.locator("#chat-log")

    # A photo and a PDF with a caption: one message, added to the case, files copied.
    mark = served.slack.mark()
    await page.get_by_label("Attach images or files").set_input_files(files=[
        {"name": "damage.png", "mimeType": "image/png", "buffer": PNG},
        {"name": "label.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    await expect(page.locator("#chat-chosen")).to_contain_text("damage.png, label.pdf")
    await page.locator("#chat-text").fill("The box arrived crushed, label attached")
    await shots.take(page, "chat-files-chosen")
    await page.get_by_role("button", name="Send", exact=True).click()
    await expect(panel).to_contain_text(f"Added to {number}", timeout=WAIT * 1000)
    await expect(page.locator("#chat-log li.seller.pending")).to_have_count(0)
    await expect(page.locator("#chat-chosen")).to_have_text("")
    await shots.take(page, "chat-files-sent")
    # The seller's own files are links in the panel, handed back to that seller.
    link = panel.get_by_role("link", name="label.pdf")
    await expect(link).to_have_count(1, timeout=WAIT * 1000)
    href = await link.get_attribute("href")
    assert href is not None and href.startswith("/portal/files/")
    got = await page.request.get(portal.base(served) + href)
    assert got.status == 200 and await got.body() == PDF
    await wait_in_thread(served, parent_ts, "The box arrived crushed", since=mark)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while len(served.slack.shared_files(SUPPORT, parent_ts)) < 2:
        assert loop.time() < deadline, served.slack.shared_files(SUPPORT, parent_ts)
        await asyncio.sleep(0.05)
    shared = served.slack.shared_files(SUPPORT, parent_ts)
    assert sorted((f.get("title") or f.get("name"), f["content"]) for f in shared) == [
        ("damage.png", PNG), ("label.pdf", PDF)]

    # Over the chat's limit per file: refused with the reason, nothing reaches the thread.
    await page.get_by_label("Attach images or files").set_input_files(files=[
        {"name": "unboxing.mp4", "mimeType": "video/mp4", "buffer": b"v" * 1_000_001}])
    await page.get_by_role("button", name="Send", exact=True).click()
    await expect(page.locator("#chat-log li.failed")).to_have_count(1, timeout=WAIT * 1000)
    await expect(page.locator("#chat-state")).to_contain_text(
        "unboxing.mp4 is over the 1 MB limit per file")
    await shots.take(page, "chat-file-refused")
    assert len(served.slack.shared_files(SUPPORT, parent_ts)) == 2
    # A body declared over five files at the limit is refused before any of it is read.
    assert await declared_upload_status(served, 5_200_000) == 413
    await page.context.close()


async def test_the_navigation_has_no_email_link_without_mail(
        served: Served, browser: Browser) -> None:
    seller = TelegramSeller(served)
    await seller.register()
    page = await new_page(browser)
    await log_in(page, await link_from_bot(served, seller))
    await page.wait_for_url("**/portal/cases")
    nav = page.get_by_role("navigation")
    await expect(nav.get_by_role("link", name="My cases")).to_have_count(1)
    assert await nav.get_by_role("link", name="Email notifications").count() == 0
    await page.context.close()


async def declared_upload_status(served: Served, length: int) -> int:
    """The status the upload path answers to headers declaring a ``length`` byte body (none
    of it sent: a refusal must not wait for it)."""
    url = served.http.base_url
    reader, writer = await asyncio.open_connection(url.host, url.port)
    try:
        writer.write((f"POST /web/chat/files HTTP/1.1\r\nHost: {url.host}\r\n"
                      "Content-Type: multipart/form-data; boundary=x\r\n"
                      f"Content-Length: {length}\r\n\r\n").encode())
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), WAIT)
        return int(status_line.split()[1])
    finally:
        writer.close()
