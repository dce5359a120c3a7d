"""What Slack sends to our app, built for tests: signed Events API and interactivity requests,
and the Socket Mode envelopes the stand-in pushes over its websocket."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from tests.standins.slack_ids import APP_ID, BOT_USER_ID, TEAM_ID


# Requests from Slack to our app (Events API, interactivity) ---------------------------------
def signed_headers(signing_secret: str, body: bytes | str,
                   timestamp: int | None = None) -> dict[str, str]:
    """The X-Slack-Signature headers Slack would send with ``body`` (computed by slack_sdk)."""
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=stamp, body=body)
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature or ""}


_event_ids = itertools.count(1)


def event_envelope(event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    """An Events API ``event_callback`` around ``event`` (JSON-post it to /slack/events)."""
    return {
        "token": "legacy-verification-token", "team_id": TEAM_ID, "api_app_id": APP_ID,
        "type": "event_callback", "event": event,
        "event_id": event_id or f"Ev{next(_event_ids):08d}", "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True,
                            "is_enterprise_install": False, "enterprise_id": None}],
    }


def thread_reply_event(channel: str, thread_ts: str, text: str, user: str = "U0AGENT01",
                       ts: str | None = None) -> dict[str, Any]:
    """A human's ``message`` event in a thread."""
    return {"type": "message", "channel": channel, "user": user, "text": text,
            # A seconds base far from the stand-in's own message ts, so the two never collide.
            "ts": ts or f"{int(time.time()) + 500_000}.{next(_event_ids):06d}",
            "thread_ts": thread_ts,
            "channel_type": "channel", "team": TEAM_ID}


def block_action_payload(action_id: str, value: str, *, user: str = "U0AGENT01",
                         channel: str = "C0SUPPORT", message_ts: str = "1.000001",
                         response_url: str | None = None) -> dict[str, Any]:
    """The ``block_actions`` payload Slack sends when a Block Kit button is pressed."""
    return {
        "type": "block_actions", "team": {"id": TEAM_ID}, "api_app_id": APP_ID,
        "user": {"id": user, "team_id": TEAM_ID}, "trigger_id": "1.2.3",
        "channel": {"id": channel}, "container": {"type": "message", "message_ts": message_ts,
                                                  "channel_id": channel},
        "message": {"type": "message", "ts": message_ts, "text": ""},
        "response_url": response_url or "https://hooks.slack.invalid/actions/1",
        "actions": [{"type": "button", "action_id": action_id, "block_id": "b",
                     "value": value, "action_ts": str(time.time())}],
    }


def block_action_form(action_id: str, value: str, *, user: str = "U0AGENT01",
                      channel: str = "C0SUPPORT", message_ts: str = "1.000001",
                      response_url: str | None = None) -> str:
    """The form body Slack posts when a Block Kit button is pressed (``payload=<json>``)."""
    payload = block_action_payload(action_id, value, user=user, channel=channel,
                                   message_ts=message_ts, response_url=response_url)
    return urlencode({"payload": json.dumps(payload)})


# Socket Mode envelopes (what Slack sends over the websocket) ---------------------------------
def socket_envelope(kind: str, payload: dict[str, Any], *, envelope_id: str | None = None,
                    accepts_response_payload: bool = False,
                    **extra: Any) -> dict[str, Any]:
    """A Socket Mode envelope of type ``kind`` (``events_api``, ``interactive``,
    ``slash_commands``) around ``payload``; each has its own ``envelope_id``."""
    return {"envelope_id": envelope_id or str(uuid.uuid4()), "type": kind, "payload": payload,
            "accepts_response_payload": accepts_response_payload, **extra}


def events_api_envelope(event: dict[str, Any], event_id: str | None = None,
                        retry_attempt: int = 0) -> dict[str, Any]:
    """An Events API delivery. Slack's retry of an unacknowledged one is a new envelope with
    the same ``event_id`` and ``retry_attempt`` counting up."""
    return socket_envelope("events_api", event_envelope(event, event_id),
                           retry_attempt=retry_attempt,
                           retry_reason="timeout" if retry_attempt else "")


def interactive_envelope(payload: dict[str, Any]) -> dict[str, Any]:
    """An interaction (``block_actions``, ``view_submission``...); view submissions may be
    answered in the ack (validation errors)."""
    return socket_envelope("interactive", payload,
                           accepts_response_payload=payload.get("type") == "view_submission")


def slash_command_envelope(command: str, text: str, *, user: str = "U0AGENT01",
                           channel: str = "C0SUPPORT") -> dict[str, Any]:
    """A slash command; the ack's payload is what the invoking user sees."""
    payload = {
        "token": "legacy-verification-token", "team_id": TEAM_ID, "team_domain": "standin",
        "channel_id": channel, "channel_name": "support", "user_id": user, "user_name": "agent",
        "command": command, "text": text, "api_app_id": APP_ID, "is_enterprise_install": "false",
        "response_url": "https://hooks.slack.invalid/commands/1", "trigger_id": "4.5.6",
    }
    return socket_envelope("slash_commands", payload, accepts_response_payload=True)
