"""Approve / Decline on an invitation request posted to the agents' invites channel.

The decision is the rules' (``decide_invitation_request``); here the press is checked (an
agent, a request id), and the message is updated in place with who decided and how, its
buttons gone, so the channel shows which requests are still waiting.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.action_blocks import section
from bot.case_rules.invitation_requests import ACTION_PREFIX, APPROVE, RequestDecision
from bot.cases import CaseService
from bot.errors import CaseRuleError
from bot.texts import t

log = logging.getLogger(__name__)

INVITE_ACTION_PATTERN = re.compile("^" + re.escape(ACTION_PREFIX) + r"(approve|decline)$")

Run = Callable[..., Awaitable[Any]]


def add_invite_actions(app: AsyncApp, client: AsyncWebClient, cases: CaseService,
                       is_agent: Callable[[str], Awaitable[bool]], run: Run) -> None:
    """Register the invitation-request buttons' handler on ``app``."""

    @app.action(INVITE_ACTION_PATTERN)
    async def on_invite_request(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        user = str(body["user"]["id"])
        action = body["actions"][0]
        match = INVITE_ACTION_PATTERN.match(str(action["action_id"]))
        value = str(action.get("value") or "")
        if match is None or not value.isdigit():
            return
        if not await is_agent(user):
            await _ephemeral(client, body, "Only support agents can answer invitation requests.")
            return
        try:
            decision: RequestDecision = await run(
                cases.decide_invitation_request, int(value), match.group(1), user)
        except CaseRuleError as err:
            await _ephemeral(client, body, f"Not done: {err}")
            return
        if decision.already:
            word = "approved" if decision.outcome == APPROVE else "declined"
            await _ephemeral(client, body, f"That request was already {word}.")
            return
        await _show_outcome(client, body, decision, user)


async def _show_outcome(client: AsyncWebClient, body: dict[str, Any],
                        decision: RequestDecision, user: str) -> None:
    """Replace the buttons with the outcome; the decision stands even if this fails."""
    channel = (body.get("channel") or {}).get("id")
    message = body.get("message") or {}
    ts = message.get("ts")
    if not channel or not ts:
        return
    key = "agents.invite_approved" if decision.outcome == APPROVE else "agents.invite_declined"
    outcome = section(t(key, agent=user, requester=decision.requester))
    # The agent's id is a Slack id (checked by bolt's payload), shown as a mention.
    outcome["text"]["text"] = outcome["text"]["text"].replace(user, f"<@{user}>", 1)
    request = [b for b in message.get("blocks") or [] if b.get("type") == "section"][:1]
    try:
        await client.chat_update(channel=channel, ts=ts, text=outcome["text"]["text"],
                                 blocks=[*request, outcome])
    except SlackApiError:
        log.exception("invitation request %s: decided, but its message was not updated",
                      decision.request_id)


async def _ephemeral(client: AsyncWebClient, body: dict[str, Any], text: str) -> None:
    channel = (body.get("channel") or {}).get("id")
    if channel:
        await client.chat_postEphemeral(channel=channel, user=body["user"]["id"], text=text)
