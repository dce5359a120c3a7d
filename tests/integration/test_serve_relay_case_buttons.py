"""`frontdoor serve`: agents' buttons on the case's parent card in Slack. Status and urgency
buttons update the case and the card in place, only channel members may press them, and
"declined" asks for a reason in a modal, whose submission declines the case (or is refused).
Server, stand-ins and helpers: serve_relay_support."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlencode

from bot import domain as d
from tests.integration import serve_relay_support as relay_fixtures
from tests.integration.serve_relay_support import (
    AGENT,
    SUPPORT,
    WAIT,
    OpenedCase,
    Served,
    TelegramSeller,
    _status_field,
    wait_in_thread,
)
from tests.standins import slack_api

# The server, a registered seller and an open case, shared with the other serve tests.
served = relay_fixtures.served
seller = relay_fixtures.seller
case = relay_fixtures.case


async def test_buttons_change_the_status_and_update_the_parent(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    mark = served.slack.mark()
    response = await served.press_case_button("case_status:investigating", case.number,
                                              case.parent_ts)

    assert response.status_code == 200
    assert served.services.cases.get_case(case.number).case.status == d.INVESTIGATING
    update = await served.slack.wait_for("chat.update", since=mark, timeout=WAIT)
    assert (update["channel"], update["ts"]) == (SUPPORT, case.parent_ts)
    assert "`investigating`" in _status_field(update)
    await wait_in_thread(served, case.parent_ts, "In progress", since=mark)
    await served.telegram.wait_for("sendMessage", timeout=WAIT,
                                   where=lambda r: "being looked at" in r.get("text", ""))

    mark = served.slack.mark()
    await served.press_case_button("case_urgent:on", case.number, case.parent_ts)
    update = await served.slack.wait_for("chat.update", since=mark, timeout=WAIT)
    assert update["text"].endswith("URGENT")
    assert served.services.cases.get_case(case.number).case.urgent
    stored = served.slack.find(SUPPORT, case.parent_ts)
    assert stored is not None and len(served.slack.messages[SUPPORT]) >= 1
    assert [m["ts"] for m in served.slack.messages[SUPPORT] if not m.get("thread_ts")] == [
        case.parent_ts]  # updated in place, never posted again


async def test_only_channel_members_may_press_buttons(
        served: Served, case: OpenedCase) -> None:
    mark = served.slack.mark()
    response = await served.press_case_button("case_status:resolved", case.number,
                                              case.parent_ts, user="U0OUTSIDER")

    assert response.status_code == 200
    refusal = await served.slack.wait_for("chat.postEphemeral", since=mark, timeout=WAIT)
    assert refusal["user"] == "U0OUTSIDER" and "Only support agents" in refusal["text"]
    assert served.services.cases.get_case(case.number).case.status == d.OPEN


def _decline_submission(number: str, reason: str) -> str:
    payload = {
        "type": "view_submission", "team": {"id": slack_api.TEAM_ID},
        "user": {"id": AGENT, "team_id": slack_api.TEAM_ID}, "api_app_id": "A0STANDIN",
        "trigger_id": "1.2.3",
        "view": {"id": "V0DECLINE", "type": "modal", "callback_id": "decline_reason",
                 "private_metadata": number, "team_id": slack_api.TEAM_ID,
                 "state": {"values": {"reason": {"reason": {
                     "type": "plain_text_input", "value": reason}}}}},
    }
    return urlencode({"payload": json.dumps(payload)})


async def test_decline_with_a_reason_from_the_modal(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    form = "application/x-www-form-urlencoded"
    too_short = await served.slack_post(_decline_submission(case.number, "no"), form)
    assert too_short.json() == {"response_action": "errors",
                                "errors": {"reason": "Tell the seller why, in a sentence."}}
    assert served.services.cases.get_case(case.number).case.status == d.OPEN

    mark = served.slack.mark()
    done = await served.slack_post(
        _decline_submission(case.number, "The carrier confirmed delivery to the buyer."), form)

    assert done.status_code == 200
    assert served.services.cases.get_case(case.number).case.status == d.DECLINED
    await served.telegram.wait_for(
        "sendMessage", timeout=WAIT, where=lambda r: r.get("chat_id") == seller.chat
        and "carrier confirmed delivery" in r.get("text", ""))
    update = await served.slack.wait_for("chat.update", since=mark, timeout=WAIT)
    assert "`declined`" in _status_field(update)
    assert all(b["type"] != "actions" for b in update["blocks"])  # final: no buttons left


async def test_decline_button_opens_the_reason_form(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    response = await served.press_case_button("case_status:declined", case.number,
                                              case.parent_ts)
    assert response.status_code == 200
    opened = await served.slack.wait_for("views.open", timeout=WAIT)
    view = opened["view"] if isinstance(opened["view"], dict) else json.loads(opened["view"])
    assert view["callback_id"] == "decline_reason" and view["private_metadata"] == case.number
    # Nothing is declined until the agent gives the reason.
    assert served.services.cases.get_case(case.number).case.status == d.OPEN


async def test_decline_form_from_a_non_agent_is_refused(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    payload = json.loads(dict(parse_qsl(_decline_submission(
        case.number, "Somebody else deciding this.")))["payload"])
    payload["user"]["id"] = "U0STRANGER"
    response = await served.slack_post(urlencode({"payload": json.dumps(payload)}),
                                       "application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert response.json()["response_action"] == "errors"
    assert served.services.cases.get_case(case.number).case.status == d.OPEN


async def test_decline_of_a_closed_case_keeps_the_form_open_with_the_reason(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    served.services.cases.change_status(case.number, "closed")
    response = await served.slack_post(_decline_submission(case.number, "Too late to decline."),
                                       "application/x-www-form-urlencoded")
    assert response.status_code == 200
    body = response.json()
    assert body["response_action"] == "errors"
    assert body["errors"]["reason"].startswith("Not declined:")
    assert "closed" in body["errors"]["reason"]
    assert served.services.cases.get_case(case.number).case.status == d.CLOSED
