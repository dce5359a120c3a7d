"""The real python-telegram-bot ``Bot`` and slack_sdk ``AsyncWebClient`` against the local
stand-ins: what the senders put on the wire, and how platform failures are reported."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram import Bot

from adapters.slack.sender import SlackSender
from adapters.telegram.sender import TelegramSender
from bot import outbox as ob
from bot.messages import Attachment, Button, Reply
from bot.outbox import OutboundItem, ThreadRef
from tests.standins import slack_api, telegram_api
from tests.standins.slack_api import SlackStandIn
from tests.standins.telegram_api import TelegramStandIn

TOKEN = "123:TEST"
SLACK_TOKEN = "xoxb-test-token"
CHAT = "424242"
SUPPORT = "C0SUPPORT"


@pytest.fixture
async def telegram() -> AsyncIterator[TelegramStandIn]:
    async with TelegramStandIn() as standin:
        yield standin


@pytest.fixture
async def telegram_sender(telegram: TelegramStandIn) -> AsyncIterator[TelegramSender]:
    async with TelegramSender.create(TOKEN, base_url=telegram.base_url) as sender:
        yield sender


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandIn]:
    async with SlackStandIn() as standin:
        yield standin


@pytest.fixture
async def slack_sender(slack: SlackStandIn) -> AsyncIterator[SlackSender]:
    async with SlackSender.create(SLACK_TOKEN, base_url=slack.base_url) as sender:
        yield sender


_ids = iter(range(1, 1_000_000))


def item(kind: str, payload: dict[str, Any], destination: str = ob.TELEGRAM,
         thread: ThreadRef | None = None) -> OutboundItem:
    return OutboundItem(id=next(_ids), destination=destination, kind=kind, payload=payload,
                        case_id=1, case_number="CX-000001", thread=thread)


def seller_message(text: str, buttons: tuple[Button, ...] = (), address: str = CHAT,
                   destination: str = ob.TELEGRAM) -> OutboundItem:
    reply = Reply(text, buttons, case_number="CX-000001")
    return item(ob.SELLER_MESSAGE, {"address": address, "reply": reply.as_dict()}, destination)


CARD: dict[str, Any] = {
    "number": "CX-000001", "title": "Order 123-1234567-1234567 not delivered",
    "case_type": "shipping", "seller_name": "Ada's Shop", "seller_id": 7,
    "order_id": "123-1234567-1234567", "status": "open", "status_label": "In progress",
    "urgent": False, "first_response_due": "2030-01-02T03:04:05+00:00",
    "reopened_from": None, "evaluation": None,
}


# Telegram ----------------------------------------------------------------------------------
async def test_telegram_send_with_inline_keyboard(telegram: TelegramStandIn,
                                                  telegram_sender: TelegramSender) -> None:
    buttons = (Button("Yes, add it", "dup:CX-000001:yes"), Button("No", "dup:CX-000001:no"))

    result = await telegram_sender.deliver(seller_message("Add to CX-000001?", buttons))

    assert result.ok and not result.permanent
    assert (result.platform_message_id, result.platform_chat_id) == ("1", CHAT)
    sent = await telegram.wait_for("sendMessage")
    assert sent["chat_id"] == CHAT
    assert sent["text"] == "Add to CX-000001?"
    assert sent["reply_markup"] == {"inline_keyboard": [
        [{"text": "Yes, add it", "callback_data": "dup:CX-000001:yes"}],
        [{"text": "No", "callback_data": "dup:CX-000001:no"}],
    ]}
    assert sent.path == f"/bot{TOKEN}/sendMessage"
    assert telegram.requests[0].method == "getMe"  # Bot.initialize on first use


async def test_telegram_message_ids_increase(telegram_sender: TelegramSender) -> None:
    first = await telegram_sender.deliver(seller_message("one"))
    second = await telegram_sender.deliver(seller_message("two"))
    assert (first.platform_message_id, second.platform_message_id) == ("1", "2")


async def test_telegram_edit_and_repeated_edit(telegram: TelegramStandIn,
                                               telegram_sender: TelegramSender) -> None:
    sent = await telegram_sender.deliver(seller_message("Pick one", (Button("A", "a"),)))
    edit = item(ob.SELLER_EDIT, {"address": CHAT, "platform_message_id": sent.platform_message_id,
                                 "text": "You picked A"})

    result = await telegram_sender.deliver(edit)
    again = await telegram_sender.deliver(edit)  # as after a lost response: "not modified"

    assert result.ok and again.ok
    assert result.platform_message_id == sent.platform_message_id
    edits = telegram.calls("editMessageText")
    assert [r.status for r in edits] == [200, 400]
    assert edits[0]["message_id"] == sent.platform_message_id
    stored = telegram.messages[(CHAT, 1)]
    assert stored["text"] == "You picked A" and "reply_markup" not in stored


async def test_telegram_edit_of_unknown_message_is_permanent(
        telegram_sender: TelegramSender) -> None:
    result = await telegram_sender.deliver(
        item(ob.SELLER_EDIT, {"address": CHAT, "platform_message_id": "99", "text": "x"}))
    assert not result.ok and result.permanent
    assert "message to edit not found" in (result.error or "").lower()


async def test_telegram_flood_wait_is_reported_with_retry_after(
        telegram: TelegramStandIn, telegram_sender: TelegramSender) -> None:
    telegram.fail_next("sendMessage", telegram_api.flood_wait(7))

    limited = await telegram_sender.deliver(seller_message("hello"))
    after = await telegram_sender.deliver(seller_message("hello"))

    assert not limited.ok and not limited.permanent
    assert limited.retry_after == 7.0
    assert after.ok
    assert [r.status for r in telegram.calls("sendMessage")] == [429, 200]


async def test_telegram_server_error_is_retryable(telegram: TelegramStandIn,
                                                  telegram_sender: TelegramSender) -> None:
    telegram.fail_next("sendMessage", telegram_api.server_error(500), times=2)
    for _ in range(2):
        result = await telegram_sender.deliver(seller_message("hello"))
        assert not result.ok and not result.permanent and result.retry_after is None
    assert (await telegram_sender.deliver(seller_message("hello"))).ok


async def test_telegram_blocked_by_user_is_permanent(telegram: TelegramStandIn,
                                                     telegram_sender: TelegramSender) -> None:
    telegram.fail_next("sendMessage", telegram_api.blocked_by_user())
    result = await telegram_sender.deliver(seller_message("hello"))
    assert not result.ok and result.permanent
    assert result.extra == {"unreachable": True}
    assert "bot was blocked by the user" in (result.error or "")

    telegram.block_chat(CHAT)  # and a chat that stays blocked
    assert (await telegram_sender.deliver(seller_message("again"))).permanent


async def test_telegram_bad_request_is_permanent(telegram: TelegramStandIn,
                                                 telegram_sender: TelegramSender) -> None:
    telegram.fail_next("sendMessage", telegram_api.bad_request("Bad Request: chat not found"))
    result = await telegram_sender.deliver(seller_message("hello"))
    assert result.permanent and "chat not found" in (result.error or "").lower()


async def test_telegram_oversized_button_payload_is_refused_before_sending(
        telegram: TelegramStandIn, telegram_sender: TelegramSender) -> None:
    result = await telegram_sender.deliver(seller_message("x", (Button("Big", "p" * 65),)))
    assert result.permanent and "64 bytes" in (result.error or "")
    assert telegram.calls("sendMessage") == []


async def test_telegram_unreachable_api_is_retryable(telegram: TelegramStandIn) -> None:
    origin = telegram.base_url
    await telegram.stop()
    async with TelegramSender.create(TOKEN, base_url=origin) as sender:
        result = await sender.deliver(seller_message("hello"))
    assert not result.ok and not result.permanent


async def test_telegram_unsupported_kind_is_permanent(telegram_sender: TelegramSender) -> None:
    result = await telegram_sender.deliver(item(ob.THREAD_POST, {"text": "x"}))
    assert result.permanent and "unsupported kind" in (result.error or "")


async def test_telegram_webhook_polling_and_callback_answer(telegram: TelegramStandIn) -> None:
    async with Bot(TOKEN, base_url=telegram.base_url) as bot:
        await bot.set_webhook("https://frontdoor.example/telegram/webhook", secret_token="s3")
        assert telegram.webhook is not None and telegram.webhook["secret_token"] == "s3"
        await bot.delete_webhook()

        update = telegram_api.message_update("hi", update_id=500)
        telegram.push_update(update)
        updates = await bot.get_updates(offset=0, timeout=1)
        assert [u.update_id for u in updates] == [500]
        assert updates[0].message is not None and updates[0].message.text == "hi"
        assert await bot.get_updates(offset=501, timeout=0) == ()

        assert await bot.answer_callback_query("cq1", text="Done")
        answered = await telegram.wait_for("answerCallbackQuery")
        assert answered["callback_query_id"] == "cq1"


async def test_wait_for_resolves_when_the_request_arrives_later(
        telegram: TelegramStandIn, telegram_sender: TelegramSender) -> None:
    mark = telegram.mark()
    waiting = asyncio.create_task(telegram.wait_for("sendMessage", since=mark, timeout=5))
    await asyncio.sleep(0)
    assert not waiting.done()
    await telegram_sender.deliver(seller_message("late"))
    assert (await waiting)["text"] == "late"


async def test_wait_for_times_out_with_what_was_seen(telegram: TelegramStandIn) -> None:
    with pytest.raises(AssertionError, match="no 1x sendMessage"):
        await telegram.wait_for("sendMessage", timeout=0.05)


async def test_standin_in_its_own_thread() -> None:
    with TelegramStandIn().running_in_thread() as telegram:
        async with TelegramSender.create(TOKEN, base_url=telegram.base_url) as sender:
            result = await sender.deliver(seller_message("from another loop"))
        assert result.ok
        sent = await telegram.wait_for("sendMessage")
        assert sent["text"] == "from another loop"


# Slack -------------------------------------------------------------------------------------
def parent(thread: ThreadRef | None = None, **changes: Any) -> OutboundItem:
    return item(ob.CASE_PARENT, {"card": {**CARD, **changes}, "channel": SUPPORT},
                ob.SLACK, thread)


async def test_slack_parent_post_then_update(slack: SlackStandIn,
                                             slack_sender: SlackSender) -> None:
    posted = await slack_sender.deliver(parent())

    assert posted.ok and posted.platform_chat_id == SUPPORT
    request = await slack.wait_for("chat.postMessage")
    assert request["channel"] == SUPPORT
    assert request.headers["Authorization"] == f"Bearer {SLACK_TOKEN}"
    action_ids = [e["action_id"] for b in request["blocks"] if b["type"] == "actions"
                  for e in b["elements"]]
    # An open case: every move the rules allow from open (back to "open" is CLI only), then
    # Assign to me and the urgent toggle.
    assert action_ids == ["case_status:investigating", "case_status:pending",
                          "case_status:resolved", "case_status:closed", "case_status:declined",
                          "case_assign:me", "case_urgent:on", "case_type:select"]
    assert "CX-000001" in request["text"]

    thread = ThreadRef(SUPPORT, str(posted.platform_message_id))
    updated = await slack_sender.deliver(parent(thread, status="investigating", urgent=True))

    assert updated.ok and updated.platform_message_id == thread.ts
    update = await slack.wait_for("chat.update")
    assert (update["channel"], update["ts"]) == (SUPPORT, thread.ts)
    assert len(slack.messages[SUPPORT]) == 1  # updated in place, not posted again
    stored = slack.find(SUPPORT, thread.ts)
    assert stored is not None and "URGENT" in stored["text"]


async def test_slack_thread_post_lands_in_the_thread(slack: SlackStandIn,
                                                     slack_sender: SlackSender) -> None:
    posted = await slack_sender.deliver(parent())
    thread = ThreadRef(SUPPORT, str(posted.platform_message_id))
    photo = Attachment("photo", "AgACphoto", None, "image/jpeg", 123_456)

    result = await slack_sender.deliver(item(
        ob.THREAD_POST,
        {"text": "It never <arrived>", "author": "Ada (seller)",
         "attachments": [photo.as_dict()]},
        ob.SLACK, thread))

    assert result.ok and result.platform_chat_id == SUPPORT
    request = await slack.wait_for("chat.postMessage", count=2)
    assert request["thread_ts"] == thread.ts
    assert request["text"].startswith("*Ada (seller)*: It never &lt;arrived&gt;")
    assert "AgACphoto" in request["text"] and "120.6 KB" in request["text"]
    replies = slack.thread(SUPPORT, thread.ts)
    assert [r["ts"] for r in replies] == [result.platform_message_id]


async def test_slack_thread_post_before_parent_is_retryable(slack: SlackStandIn,
                                                            slack_sender: SlackSender) -> None:
    result = await slack_sender.deliver(
        item(ob.THREAD_POST, {"text": "x", "author": "Ada", "attachments": []}, ob.SLACK))
    assert not result.ok and not result.permanent
    assert "parent not posted yet" in (result.error or "")
    assert slack.requests == []


async def test_slack_reaction_and_repeated_reaction(slack: SlackStandIn,
                                                    slack_sender: SlackSender) -> None:
    posted = await slack_sender.deliver(parent())
    thread = ThreadRef(SUPPORT, str(posted.platform_message_id))
    reply = await slack_sender.deliver(
        item(ob.THREAD_POST, {"text": "agent reply", "author": "Bo"}, ob.SLACK, thread))
    reaction = item(ob.THREAD_REACTION,
                    {"name": "white_check_mark", "target_ts": reply.platform_message_id},
                    ob.SLACK, thread)

    first = await slack_sender.deliver(reaction)
    second = await slack_sender.deliver(reaction)  # retried after a lost response

    assert first.ok and second.ok
    request = await slack.wait_for("reactions.add")
    assert request.params == {"channel": SUPPORT, "timestamp": reply.platform_message_id,
                              "name": "white_check_mark"}
    target = slack.find(SUPPORT, str(reply.platform_message_id))
    assert target is not None and target["reactions"] == {"white_check_mark": ["U0BOT0001"]}


async def test_slack_rate_limit_is_reported_with_retry_after(slack: SlackStandIn,
                                                             slack_sender: SlackSender) -> None:
    slack.fail_next("chat.postMessage", slack_api.rate_limited(3))

    limited = await slack_sender.deliver(parent())
    after = await slack_sender.deliver(parent())

    assert not limited.ok and not limited.permanent and limited.retry_after == 3.0
    assert after.ok
    assert [r.status for r in slack.calls("chat.postMessage")] == [429, 200]


async def test_slack_server_error_is_retryable(slack: SlackStandIn,
                                               slack_sender: SlackSender) -> None:
    slack.fail_next("chat.postMessage", slack_api.server_error(500))
    slack.fail_next("chat.postMessage", slack_api.server_error(503))
    for status in (500, 503):
        result = await slack_sender.deliver(parent())
        assert not result.ok and not result.permanent and result.retry_after is None
        assert str(status) in (result.error or "")
    assert (await slack_sender.deliver(parent())).ok


async def test_slack_transient_api_error_is_retryable(slack: SlackStandIn,
                                                      slack_sender: SlackSender) -> None:
    slack.fail_next("chat.postMessage", slack_api.api_error("internal_error"))
    result = await slack_sender.deliver(parent())
    assert not result.ok and not result.permanent


@pytest.mark.parametrize("error", ["channel_not_found", "not_in_channel", "invalid_auth"])
async def test_slack_configuration_errors_are_permanent(slack: SlackStandIn,
                                                        slack_sender: SlackSender,
                                                        error: str) -> None:
    slack.fail_next("chat.postMessage", slack_api.api_error(error))
    result = await slack_sender.deliver(parent())
    assert not result.ok and result.permanent
    assert result.error == f"slack: {error}"


async def test_slack_unreachable_api_is_retryable(slack: SlackStandIn) -> None:
    base_url = slack.base_url
    await slack.stop()
    async with SlackSender.create(SLACK_TOKEN, base_url=base_url) as sender:
        result = await sender.deliver(parent())
    assert not result.ok and not result.permanent


async def test_slack_channel_post(slack: SlackStandIn, slack_sender: SlackSender) -> None:
    result = await slack_sender.deliver(
        item(ob.CHANNEL_POST, {"channel": "C0OPS", "text": "3 items dead-lettered"}, ob.SLACK))
    assert result.ok and result.platform_chat_id == "C0OPS"
    request = await slack.wait_for("chat.postMessage")
    assert request["text"] == "3 items dead-lettered" and "blocks" not in request.params


async def test_slack_seller_dm_with_buttons_then_edit(slack: SlackStandIn,
                                                      slack_sender: SlackSender) -> None:
    dm = "D0SELLER1"
    sent = await slack_sender.deliver(seller_message(
        "Did this article solve it?", (Button("Yes", "kb:yes"), Button("No", "kb:no")),
        address=dm, destination=ob.SLACK))

    assert sent.ok and sent.platform_chat_id == dm
    request = await slack.wait_for("chat.postMessage")
    buttons = [e for b in request["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [(b["action_id"], b["value"]) for b in buttons] == [
        ("seller_button", "kb:yes"), ("seller_button", "kb:no")]

    edited = await slack_sender.deliver(item(
        ob.SELLER_EDIT, {"address": dm, "platform_message_id": sent.platform_message_id,
                         "text": "Thanks!"}, ob.SLACK))
    assert edited.ok
    stored = slack.find(dm, str(sent.platform_message_id))
    assert stored is not None and stored["text"] == "Thanks!"
    assert all(b["type"] != "actions" for b in stored["blocks"])


async def test_slack_update_of_missing_parent_is_permanent(slack_sender: SlackSender) -> None:
    result = await slack_sender.deliver(parent(ThreadRef(SUPPORT, "1.000000")))
    assert result.permanent and result.error == "slack: message_not_found"
