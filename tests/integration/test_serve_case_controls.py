"""Issue 12: agents control a case from its Slack card, through `frontdoor serve` on the real
slack-bolt against the stand-in (button presses are signed interactive payloads), on SQLite and
PostgreSQL: Assign to me, Close, the urgent toggle, and a card offering only allowed moves.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import httpx

from bot import domain as d
from tests.integration import serve_relay_support as relay_fixtures
from tests.integration.serve_relay_support import (
    AGENT,
    SUPPORT,
    WAIT,
    OpenedCase,
    Served,
    TelegramSeller,
    wait_in_thread,
)
from tests.standins import RecordedRequest, slack_api

# The server, a registered seller and an open case, shared with the relay tests.
served = relay_fixtures.served
seller = relay_fixtures.seller
case = relay_fixtures.case


def action_ids(request: RecordedRequest) -> list[str]:
    return [e["action_id"] for b in request["blocks"] if b["type"] == "actions"
            for e in b["elements"] if e["type"] == "button"]  # the type menu: change_type tests


def field(request: RecordedRequest, name: str) -> str | None:
    fields = [f["text"] for b in request["blocks"] if b["type"] == "section"
              for f in b.get("fields", [])]
    return next((f for f in fields if f.startswith(f"*{name}*\n")), None)


async def press(served: Served, action_id: str, case: OpenedCase, user: str = AGENT,
                user_name: str | None = None) -> RecordedRequest | None:
    """Press a card button; the parent's update that follows, if any."""
    mark = served.slack.mark()
    payload: dict[str, Any] = slack_api.block_action_payload(
        action_id, case.number, user=user, channel=SUPPORT, message_ts=case.parent_ts,
        response_url=served.slack.response_url())
    if user_name:
        payload["user"].update(name=user_name, username=user_name)
    response: httpx.Response = await served.slack_post(
        urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")
    assert response.status_code == 200, response.text
    if user != AGENT:
        return None
    return await served.slack.wait_for(
        "chat.update", since=mark, timeout=WAIT,
        where=lambda r: r.get("ts") == case.parent_ts)


async def test_assign_to_me_then_credits_then_close(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    assert "case_assign:me" in action_ids(case.parent)
    assert field(case.parent, "Assignee") == "*Assignee*\nUnassigned"

    update = await press(served, "case_assign:me", case, user_name="grace")
    assert update is not None and field(update, "Assignee") == f"*Assignee*\n<@{AGENT}>"
    stored = served.services.cases.get_case(case.number).case
    assert (stored.assignee_ref, stored.assignee_name) == (AGENT, "grace")
    await wait_in_thread(served, case.parent_ts, "Assigned to grace")

    # The agent's reply in the thread is the first response, credited to them.
    mark = served.slack.mark()
    await served.agent_writes(case.parent_ts, "We are checking with the carrier")
    update = await served.slack.wait_for(
        "chat.update", since=mark, timeout=WAIT,
        where=lambda r: r.get("ts") == case.parent_ts and field(r, "First response by"))
    assert field(update, "First response by") == f"*First response by*\n<@{AGENT}>"

    update = await press(served, "case_status:resolved", case)
    assert update is not None
    # Resolved: only what the rules allow from there.
    assert action_ids(update) == ["case_status:investigating", "case_status:closed",
                                  "case_assign:me", "case_urgent:on"]
    assert field(update, "Resolved by") == f"*Resolved by*\n<@{AGENT}>"
    assert served.services.cases.get_case(case.number).case.resolved_by == AGENT

    update = await press(served, "case_status:closed", case)
    assert update is not None and action_ids(update) == []
    assert served.services.cases.get_case(case.number).case.status == d.CLOSED
    await served.telegram.wait_for("sendMessage", timeout=WAIT,
                                   where=lambda r: "is closed" in r.get("text", ""))


async def test_urgent_toggles_on_and_off(served: Served, case: OpenedCase) -> None:
    update = await press(served, "case_urgent:on", case)
    assert update is not None and action_ids(update)[-1] == "case_urgent:off"
    assert served.services.cases.get_case(case.number).case.urgent

    update = await press(served, "case_urgent:off", case)
    assert update is not None and action_ids(update)[-1] == "case_urgent:on"
    assert not served.services.cases.get_case(case.number).case.urgent


async def test_a_stale_button_on_a_closed_case_is_refused_with_the_reason(
        served: Served, case: OpenedCase) -> None:
    await press(served, "case_status:closed", case)
    mark = served.slack.mark()

    await press(served, "case_assign:me", case, user="U0AGENT01X")  # not an agent: refused
    refusal = await served.slack.wait_for("chat.postEphemeral", since=mark, timeout=WAIT)
    assert "Only support agents" in refusal["text"]

    mark = served.slack.mark()
    payload = slack_api.block_action_form("case_assign:me", case.number, user=AGENT,
                                          channel=SUPPORT, message_ts=case.parent_ts,
                                          response_url=served.slack.response_url())
    response = await served.slack_post(payload, "application/x-www-form-urlencoded")
    assert response.status_code == 200
    refusal = await served.slack.wait_for("chat.postEphemeral", since=mark, timeout=WAIT)
    assert refusal["user"] == AGENT and "Not changed" in refusal["text"]
    assert "closed" in refusal["text"]
    assert served.services.cases.get_case(case.number).case.assignee_ref is None
