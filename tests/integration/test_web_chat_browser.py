"""The web chat in a real browser (Debian's Chromium via Playwright) on the whole `frontdoor
serve` app: a seller logged in to the portal opens a case from the chat panel, pressing the
bot's real buttons, and an agent's reply in the Slack thread (a signed /slack/events request
to the stand-in's workspace) appears in the panel live, without a reload, and counts as read
once the open panel shows it (a reply that arrives while the panel is closed stays unread until
it is opened).
Screenshots go to tests/output/portal/<test>/."""

from __future__ import annotations

import asyncio
import re

from playwright.async_api import Browser, expect
from sqlalchemy import select

from storage.models import CaseMessageRow, CaseRow, IdentityRow
from tests.integration import test_portal_browser as portal
from tests.integration.test_portal_browser import Shots, link_from_bot, log_in, new_page
from tests.integration.test_serve_relay import ORDER, SUPPORT, WAIT, Served, TelegramSeller

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

    await page.locator("#chat-text").fill(f"my parcel for order {ORDER} never arrived")
    await page.locator("#chat-text").press("Enter")
    await expect(panel).to_contain_text("Open it?", timeout=WAIT * 1000)
    await shots.take(page, "chat-asks")
    mark = served.slack.mark()
    await panel.get_by_role("button", name="Open the case").click()
    await expect(panel).to_contain_text("Opened", timeout=WAIT * 1000)
    found = re.search(r"CX-\d{6}", await panel.inner_text())
    assert found, await panel.inner_text()
    number = found.group(0)
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
