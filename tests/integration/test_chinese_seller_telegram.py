"""A seller who writes Chinese, through the real Telegram webhook (python-telegram-bot, the
Bot API stand-in, the real server) on SQLite and PostgreSQL: every answer is in Simplified
Chinese, from registering to rating, reminders included; agents in Slack read English with
the seller's words as written. The classifier is the keyword double (tests/fakes.py): the
Chinese NLU itself is tested against the real model elsewhere."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from bot import i18n
from frontdoor.scheduling import build_sweeper
from storage.database import Database
from storage.models import CaseRow, SellerRow
from tests.integration.serve_relay_support import (
    WAIT,
    Served,
    TelegramSeller,
    serving,
    wait_in_thread,
)
from tests.standins import telegram_api

# As the Rasa model reads these Chinese messages.
CHINESE_RULES: dict[str, str] = {
    "没到账": "payment",
    "进度": "check_status",
    "紧急": "flag_urgent",
    "先别关": "keep_open",
    "重新打开": "reopen_case",
    "谢谢": "thank",
}
_HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
async def served(db: Database) -> AsyncIterator[Served]:
    async with serving(db) as running:
        running.classifier.rules.update(CHINESE_RULES)
        yield running


@dataclass
class ChineseSeller(TelegramSeller):
    """A Telegram user whose app is set to Chinese (``language_code`` "zh-hans")."""

    language_code: str = "zh-hans"

    async def say(self, text: str, expect: str | None = None,
                  update_id: int | None = None) -> Any:
        update = telegram_api.message_update(text, user_id=self.user_id, first_name=self.name,
                                             message_id=next(self._message_ids),
                                             update_id=update_id)
        update["message"]["from"]["language_code"] = self.language_code
        return await self._send(update, expect)

    async def press(self, label: str, expect: str | None = None) -> Any:
        found = [b for b in self.buttons() if label.lower() in b["text"].lower()]
        assert found, f"no button {label!r} in {self.buttons()}"
        update = telegram_api.callback_update(found[0]["callback_data"], user_id=self.user_id,
                                              first_name=self.name)
        update["callback_query"]["from"]["language_code"] = self.language_code
        return await self._send(update, expect)

    def texts(self) -> list[str]:
        return self.served.telegram.sent_texts(self.chat)

    async def wait_for(self, fragment: str) -> Any:
        """A message to this chat containing ``fragment`` (sent outside the seller's turn)."""
        try:
            return await self.served.telegram.wait_for(
                "sendMessage", timeout=WAIT,
                where=lambda r: r.get("chat_id") == self.chat and fragment in r.get("text", ""))
        except AssertionError as err:
            raise AssertionError(f"{err}\nexpected {fragment!r}; the bot said: "
                                 f"{self.texts()}") from None


def _stored_language(served: Served) -> str | None:
    with served.services.database.sessions() as session:
        row = session.query(SellerRow).one()
        return row.language


def _all_chinese(texts: list[str]) -> list[str]:
    """The bot's messages with no Chinese in them (there should be none)."""
    return [text for text in texts if not _HAN.search(text)]


async def test_a_chinese_seller_is_answered_in_chinese_from_start_to_rating(
        served: Served) -> None:
    seller = ChineseSeller(served, name="王芳")
    cases = served.services.cases
    invitation = cases.create_invitation("王芳的店")
    await seller.say(f"/start {invitation.code}", expect="您已以 王芳的店 的身份注册成功")
    assert _stored_language(served) == i18n.CHINESE

    # Opening: the knowledge-base article first, in Chinese, then the case.
    await seller.say("订单240518K7QW93XZ的货款还没到账，买家5月18日就确认收货了，结算周期也过了，"
                     "麻烦帮忙查一下", expect="想知道什么时候回款？")
    assert "这解决您的问题了吗？" in seller.texts()[-1]
    await seller.press("没有，我还需要帮助", expect="确认创建吗？")
    slack_mark = served.slack.mark()
    await seller.press("创建工单", expect="已创建 CX-000001（回款与付款 · 240518K7QW93XZ）")
    # Agents read English, and the seller's words as written.
    parent = await served.slack.wait_for(
        "chat.postMessage", since=slack_mark, timeout=WAIT,
        where=lambda r: not r.get("thread_ts") and "CX-000001" in r.get("text", ""))
    parent_ts = str(parent.response["ts"])
    await wait_in_thread(served, parent_ts, "结算周期也过了，麻烦帮忙查一下")
    card = json.dumps(parent.params, ensure_ascii=False)
    assert "Payments" in card and "回款" not in card
    assert "🌐 Chinese (Simplified)" in card  # whom they are talking to

    # The duplicate check: the same payout again is the same case.
    await seller.say("/new", expect="新工单是关于什么的？")
    await seller.say("240518K7QW93XZ这笔货款还是没到账，已经等了两个星期了，请尽快处理",
                     expect="这解决您的问题了吗？")
    await seller.press("没有，我还需要帮助", expect="要把您的消息补充到 CX-000001 吗？")
    assert "这个问题您已经有一个工单了：" in seller.texts()[-1]
    await seller.press("补充到 CX-000001", expect="📎 已补充到 CX-000001")

    # Status, urgent; an agent's reply arrives with its words as written.
    await seller.say("CX-000001的进度怎么样", expect="CX-000001 · 回款与付款")
    assert "处理中" in seller.texts()[-1]
    await seller.say("这个很紧急，CX-000001请加急处理", expect="🚨 CX-000001 已标记为紧急")
    await served.agent_writes(parent_ts, "We are checking the settlement with finance.")
    await seller.wait_for("💬 CX-000001：We are checking the settlement with finance.")

    # Waiting for the seller: keep open, then the reminder, in Chinese and in Beijing time.
    cases.change_status("CX-000001", "pending", actor_ref="bo")
    await seller.wait_for("⏳ CX-000001 正在等待您的回复")
    await seller.say("我需要更多时间准备材料，CX-000001先别关", expect="⏳ CX-000001 会保持开启到")
    case = cases.get_case("CX-000001").case
    assert case.auto_close_at is not None
    with i18n.speaking(i18n.speaker(i18n.CHINESE)):
        until = i18n.day(case.auto_close_at)
    assert until in seller.texts()[-1] and "年" in until
    with served.services.database.sessions() as session:  # waiting for a day already
        session.execute(update(CaseRow).where(CaseRow.number == "CX-000001").values(
            pending_since=datetime.now(UTC) - timedelta(hours=25)))
        session.commit()
    assert build_sweeper(served.services).remind_pending() == 1
    reminder = await seller.wait_for("⏰ CX-000001（回款与付款 · 240518K7QW93XZ）仍在等待您的回复")
    assert "工单将于" in reminder["text"]
    assert {b["text"] for b in seller.buttons()} == {"立即回复", "我需要更多时间"}

    # Resolved: rated "so-so" with a reason, all in Chinese.
    cases.change_status("CX-000001", "resolved", actor_ref="bo")
    await seller.wait_for("您对 CX-000001 的处理满意吗？")
    assert [b["text"] for b in seller.buttons()] == ["值得点赞", "一般", "非常失望"]
    await seller.press("一般", expect="谢谢，您的评价（一般）已记录")
    await seller.press("回复太慢", expect="谢谢您的反馈，您对 CX-000001 的意见会转达给团队。")
    assert cases.get_case("CX-000001").evaluation is not None

    # Closed, then reopened: a new number linked to the old one.
    cases.change_status("CX-000001", "closed", actor_ref="bo")
    await seller.wait_for("📁 CX-000001 已关闭")
    await seller.say("问题又出现了，请重新打开CX-000001",
                     expect="🔁 已重新打开为 CX-000002（关联 CX-000001）")

    # Everything but the agent's reply (relayed as the agent wrote it) is Chinese.
    assert _all_chinese([t for t in seller.texts() if not t.startswith("💬")]) == []
    # Slack stays English: the notes Frontdoor writes in the thread have no Chinese (the
    # seller's reason included); the seller's own messages are relayed as written.
    thread = [r.get("text", "") for r in served.slack.calls("chat.postMessage")
              if r.get("thread_ts") == parent_ts]
    notes = [text for text in thread if text.startswith("*Frontdoor*:")]
    assert "*Frontdoor*: Seller's reason for So-so: Slow reply" in notes
    assert len(notes) >= 6 and [n for n in notes if _HAN.search(n)] == []
    assert "*王芳的店*: 这个很紧急，CX-000001请加急处理" in thread
