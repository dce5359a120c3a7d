"""The portal in a real browser for a Chinese seller (Debian's Chromium through Playwright, the
whole `frontdoor serve` app, the Telegram and Slack stand-ins): the login link from the chat,
the list with its filter tabs, the case page with its unread reply, a reply that lands in the
Slack thread, a rating, a reopening, the web chat panel (the bot's answer, the panel's own
refusal and the server's) and logging out, all in Chinese. Screenshots go to
tests/output/portal/<test>/.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, FilePayload, Page, expect

from bot import domain as d
from bot import i18n
from bot.case_rules.evaluation import reason_label
from bot.texts import evaluation_label
from storage.database import Database
from tests.integration import test_portal_browser as portal
from tests.integration.serve_relay_support import (
    AGENT,
    ORDER,
    SUPPORT,
    WAIT,
    Served,
    TelegramSeller,
    serving,
    wait_in_thread,
)
from tests.integration.test_portal_browser import PUBLIC, SECRET, Shots, local

browser = portal.browser  # the portal tests' Chromium, shared


@pytest.fixture
async def served(sqlite_db: Database) -> AsyncIterator[Served]:
    async with serving(sqlite_db, frontdoor_portal=True, frontdoor_public_url=PUBLIC,
                       frontdoor_session_secret=SECRET, frontdoor_max_attachment_mb=1,
                       ) as running:
        yield running


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Shots:
    return Shots(request)


def in_chinese(func: Any, *args: Any) -> str:
    with i18n.speaking(i18n.speaker(i18n.CHINESE)):
        return str(func(*args))


async def chinese_page(browser: Browser) -> Page:
    context = await browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    return await context.new_page()


async def parent_of(served: Served, number: str) -> str:
    """The case's parent post in the support channel (its thread is where replies land)."""
    parent = await served.slack.wait_for(
        "chat.postMessage", timeout=WAIT,
        where=lambda r: r.get("channel") == SUPPORT and not r.get("thread_ts")
        and number in r.get("text", ""))
    return str(parent.response["ts"])


async def test_a_chinese_seller_logs_in_replies_and_rates_in_chinese(
        served: Served, browser: Browser, shots: Shots) -> None:
    seller = TelegramSeller(served, name="王芳")
    await seller.register()
    cases = served.services.cases
    _identity, found = cases.identify("telegram", seller.chat)
    assert found is not None
    cases.set_preferences(found.id, i18n.CHINESE)
    shipping = cases.open_case(found.id, "shipping", "包裹三周了还没到，物流信息停了",
                               ORDER).case.number
    parent_ts = await parent_of(served, shipping)
    cases.agent_reply(shipping, AGENT, "我们正在联系承运商查询包裹", agent_name="小李")
    rated = cases.open_case(found.id, "listing", "商品页面被下架了，请帮忙看看原因").case.number
    cases.change_status(rated, d.RESOLVED, reason="relisted")
    closed = cases.open_case(found.id, "advertising", "广告费扣了两次，请退回一次").case.number
    cases.change_status(closed, d.CLOSED, reason="refunded")

    # The login link comes from the bot, in Chinese.
    sent = await seller.say("/web", expect="/portal/login/")
    assert sent is not None
    assert "一次" in sent["text"], sent["text"]
    link = re.search(rf"{re.escape(PUBLIC)}/portal/login/\S+", sent["text"])
    assert link is not None
    page = await chinese_page(browser)
    await page.goto(local(served, link.group(0)))
    await shots.take(page, "login-confirm")
    await expect(page.locator("h1")).to_have_text("登录查看您的工单")
    await page.get_by_role("button", name="登录", exact=True).click()
    await page.wait_for_url("**/portal/cases")

    # The list, its tabs and its labels.
    await shots.take(page, "my-cases")
    await expect(page.locator("h1")).to_have_text("我的工单")
    assert await page.locator("html").get_attribute("lang") == "zh-CN"
    tabs = page.locator("nav.tabs a")
    assert await tabs.all_inner_texts() == ["处理中", "已关闭", "全部"]
    row = page.locator(f"li.case-row[data-number='{shipping}']")
    row_text = await row.inner_text()
    assert "物流" in row_text and "处理中" in row_text and "🆕 有更新" in row_text, row_text
    await expect(page.locator("#count")).to_have_text("共 2 个工单")
    await page.get_by_role("link", name="已关闭").click()
    await shots.take(page, "my-cases-closed")
    await expect(page.locator("li.case-row")).to_have_count(1)
    assert "已关闭" in await page.locator("li.case-row").inner_text()
    await page.get_by_role("link", name="全部").click()
    await expect(page.locator("li.case-row")).to_have_count(3)
    await expect(page.locator("#chat summary")).to_contain_text("与客服聊天")

    # The case page: the unread reply highlighted, the reply form in Chinese.
    await page.locator(f"li.case-row[data-number='{shipping}'] a").click()
    await shots.take(page, "case-unread")
    unread = page.locator("ol.messages li.unread")
    await expect(unread).to_have_count(1)
    unread_text = await unread.inner_text()
    assert "新" in unread_text and "小李" in unread_text and "承运商" in unread_text
    await expect(page.locator("#reply-title")).to_have_text("回复")
    mark = served.slack.mark()
    await page.get_by_label("您的消息").fill("快递单号是 SF1234567890，请再查一下")
    await page.get_by_role("button", name="发送", exact=True).click()
    await page.wait_for_url(re.compile(r"done=replied"))
    await shots.take(page, "case-replied")
    await expect(page.locator(".notice")).to_have_text("您的消息已添加到工单并发送给我们的团队。")
    assert "您" in await page.locator("ol.messages li").first.inner_text()
    await wait_in_thread(served, parent_ts, "SF1234567890", since=mark)

    # A rating with a reason, in Chinese, once.
    await page.goto(page.url.split("/portal/")[0] + f"/portal/cases/{rated}")
    await shots.take(page, "resolved-case")
    await expect(page.locator("#eval-title")).to_have_text("我们做得怎么样？")
    so_so = in_chinese(evaluation_label, "so_so")
    slow = in_chinese(reason_label, "slow_reply")
    await page.get_by_role("radio", name=so_so).check()
    await page.get_by_label(re.compile("哪里做得不好")).select_option(label=slow)
    await page.get_by_role("button", name="提交评价").click()
    await page.wait_for_url(re.compile("done=evaluated"))
    await shots.take(page, "rated")
    await expect(page.locator(".notice")).to_have_text("感谢您的评价。")
    rating = await page.locator("#evaluation").inner_text()
    assert "您的评价" in rating and so_so in rating and slow in rating, rating
    await expect(page.get_by_role("button", name="提交评价")).to_have_count(0)
    evaluation = cases.get_case(rated).evaluation
    assert evaluation is not None and evaluation.level == "so_so"
    assert evaluation.reason_code == "slow_reply"

    # Reopening the closed one: the form and its confirmation in Chinese.
    await page.goto(page.url.split("/portal/")[0] + f"/portal/cases/{closed}")
    await expect(page.locator("#reopen-title")).to_have_text("重新打开本工单")
    await page.get_by_label("还有什么问题？").fill("又扣了一次广告费")
    await page.get_by_role("button", name="重新打开").click()
    await page.wait_for_url(re.compile("done=reopened"))
    await shots.take(page, "reopened")
    await expect(page.locator(".notice")).to_have_text("您的工单以这个新编号继续处理。")
    await expect(page.locator("#reopened-from")).to_contain_text(f"本工单延续自 {closed}")

    # The web chat panel: the bot answers in Chinese, and the panel's own words and the
    # server's refusals are Chinese too.
    chat = page.locator("#chat")
    await page.get_by_text("与客服聊天").click()
    await expect(page.locator("#chat[data-connected='1']")).to_have_count(1, timeout=WAIT * 1000)
    await chat.get_by_placeholder("输入消息").fill("/cases")
    await chat.get_by_role("button", name="发送").click()
    bot_line = page.locator("#chat-log li.bot").filter(has_text=shipping)
    await expect(bot_line).to_contain_text("物流", timeout=WAIT * 1000)
    attach = chat.get_by_label("添加图片或文件")
    six: list[FilePayload] = [
        {"name": f"p{i}.txt", "mimeType": "text/plain", "buffer": b"x"} for i in range(6)]
    await attach.set_input_files(files=six)
    await chat.get_by_placeholder("输入消息").fill("六个文件")
    await chat.get_by_role("button", name="发送").click()
    await expect(page.locator("#chat-state")).to_have_text("一次最多 5 个文件。")
    too_big: FilePayload = {"name": "video.mp4", "mimeType": "video/mp4",
                            "buffer": b"v" * 1_000_001}
    await attach.set_input_files(files=[too_big])
    await chat.get_by_role("button", name="发送").click()
    await expect(page.locator("#chat-state")).to_have_text(
        "未发送：video.mp4 超过了每个文件 1 MB 的上限。", timeout=WAIT * 1000)
    await shots.take(page, "chat-in-chinese")

    # Logging out, in Chinese.
    await page.get_by_role("button", name="退出登录").click()
    await shots.take(page, "logged-out")
    await expect(page.locator("h1")).to_have_text("您已退出登录")
