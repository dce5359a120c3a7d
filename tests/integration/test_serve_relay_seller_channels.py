"""`frontdoor serve`: the ways a seller reaches the bot. Telegram commands and button presses
through the webhook, the webhook registered with its secret when the server starts, and a seller
writing to the Slack app in a DM (same engine, Block Kit buttons). Server, stand-ins and
helpers: serve_relay_support."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from storage.database import Database
from tests.integration import serve_relay_support as relay_fixtures
from tests.integration.serve_relay_support import (
    ORDER,
    SUPPORT,
    TELEGRAM_SECRET,
    WAIT,
    OpenedCase,
    Served,
    TelegramSeller,
    serving,
)
from tests.standins import slack_api

# The server, a registered seller and an open case, shared with the other serve tests.
served = relay_fixtures.served
seller = relay_fixtures.seller
case = relay_fixtures.case


async def test_telegram_commands_through_the_webhook(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    await seller.say("/help", expect="Commands: /new, /cases")
    listed = await seller.say("/cases", expect=case.number)
    assert listed is not None and "Your active cases (1)" in listed["text"]
    shown = await seller.say(f"/case {case.number.lower()}", expect=case.number)
    assert shown is not None and "In progress" in shown["text"]
    await seller.say("/case CX-999999", expect="CX-999999")
    await seller.say("/new", expect="What is the new case about?")
    assert any(b["text"] == "Something else" for b in seller.buttons())
    # A pressed button's callback query is answered (the spinner on the button stops).
    mark = served.telegram.mark()
    await seller.press("Shipping", expect="Shipping")
    answered = await served.telegram.wait_for("answerCallbackQuery", since=mark, timeout=WAIT)
    assert answered.status == 200


async def test_webhook_is_registered_with_its_secret_on_start(sqlite_db: Database) -> None:
    async with serving(sqlite_db,
                       telegram_webhook_url="https://support.example/telegram/webhook") as served:
        registered = await served.telegram.wait_for("setWebhook", timeout=WAIT)
        assert registered["url"] == "https://support.example/telegram/webhook"
        assert registered["secret_token"] == TELEGRAM_SECRET


async def test_seller_in_a_slack_dm_registers_and_opens_a_case(served: Served) -> None:
    """Sellers may DM the Slack app: same engine, replies in the DM, buttons as Block Kit."""
    code = served.services.cases.create_invitation("Slack Seller").code
    dm, user = "D0SELLER1", "U0SELLER1"

    def dm_event(text: str, n: int) -> dict[str, Any]:
        return {"type": "message", "channel": dm, "channel_type": "im", "user": user,
                "text": text, "ts": f"1800000000.{n:06d}"}

    mark = served.slack.mark()
    assert (await served.slack_event(dm_event(code, 1), "EvDm1")).status_code == 200
    await served.slack.wait_for("chat.postMessage", since=mark, timeout=WAIT,
                                where=lambda r: r.get("channel") == dm)
    mark = served.slack.mark()
    text = f"my order {ORDER} never arrived, the buyer is waiting since Monday"
    assert (await served.slack_event(dm_event(text, 2), "EvDm2")).status_code == 200
    try:
        offer = await served.slack.wait_for(
            "chat.postMessage", since=mark, timeout=WAIT,
            where=lambda r: r.get("channel") == dm and "Open it?" in r.get("text", ""))
    except AssertionError:
        raise AssertionError([r.get("text") for r in served.slack.calls("chat.postMessage")]) from None
    blocks = offer.response["message"]["blocks"]
    buttons = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    open_button = next(b for b in buttons if "Open the case" in b["text"]["text"])
    assert open_button["action_id"] == "seller_button"

    mark = served.slack.mark()
    form = urlencode({"payload": json.dumps({
        "type": "block_actions", "team": {"id": slack_api.TEAM_ID}, "api_app_id": "A0STANDIN",
        "user": {"id": user, "team_id": slack_api.TEAM_ID}, "trigger_id": "9.9.9",
        "channel": {"id": dm}, "container": {"type": "message", "channel_id": dm},
        "actions": [{"type": "button", "action_id": "seller_button", "block_id": "b1",
                     "value": open_button["value"], "action_ts": "1800000000.5"}]})})
    pressed = await served.slack_post(form, "application/x-www-form-urlencoded")
    assert pressed.status_code == 200, pressed.text
    await served.slack.wait_for("chat.postMessage", since=mark, timeout=WAIT,
                                where=lambda r: r.get("channel") == dm
                                and "CX-000001" in r.get("text", ""))
    parent = await served.slack.wait_for(
        "chat.postMessage", timeout=WAIT,
        where=lambda r: r.get("channel") == SUPPORT and not r.get("thread_ts"))
    assert "CX-000001" in parent["text"]
    assert served.case_count() == 1
