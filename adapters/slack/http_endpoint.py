"""POST /slack/events: Slack's HTTP requests (events, interactions, slash commands) into bolt.

Every request is checked before bolt runs: the signature (401), then whether bolt and our
listeners can read it at all (400). A refused request is logged with the reason and answered
with ``X-Slack-No-Retry: 1``: it can never succeed, so Slack's retries would only repeat it.
What passes goes to bolt; a failure there (the database is down) is a 5xx that Slack retries.

With an inbox (`event_inbox`), an Events API ``event_callback`` is recorded and answered 200
at once, and bolt's listeners run on it afterwards: Slack's 3-second limit never depends on how
long a turn takes. A failure to record it is a 503 that Slack retries.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

from slack_bolt.adapter.starlette.async_handler import (
    AsyncSlackRequestHandler,
    to_async_bolt_request,
)
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from adapters.slack.event_inbox import SlackEventInbox
from adapters.slack.payload_checks import problem_with

log = logging.getLogger(__name__)

#: Slack's header for "do not retry this request" (its Events API retries any non-2xx).
NO_RETRY_HEADER = "X-Slack-No-Retry"


def refuse_request(body: bytes, headers: Mapping[str, str],
                   verifier: SignatureVerifier | None) -> tuple[int, str] | None:
    """Why a request must not reach bolt: ``(401, reason)`` for a missing, wrong or stale
    signature, ``(400, reason)`` for a body bolt or our listeners cannot process. None when
    it may go on. (Bolt parses the body before it checks the signature, and answers 500 to
    a body it cannot parse: checking here first gives unsigned noise a 401.)"""
    if verifier is not None:
        try:
            valid = verifier.is_valid_request(body, headers)
        except ValueError:  # a timestamp header that is not a number
            valid = False
        if not valid:
            return 401, "invalid or stale Slack request signature"
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return 400, "body is not UTF-8"
    return None


def _unreadable(request: Request, body: bytes) -> str | None:
    """Why bolt's listeners could not process this (signed, UTF-8) request, or None."""
    try:
        # Exactly what bolt's Starlette adapter will build from it: the same parser and the
        # same context extraction, so nothing it trips over gets past this point.
        parsed = to_async_bolt_request(request, body).body
    except RecursionError:
        return "JSON nests too deeply"
    except ValueError:
        return "body is not valid JSON"
    except Exception as exc:  # bolt's parsing is pure: any failure means unreadable
        return f"bolt cannot read it ({type(exc).__name__})"
    return problem_with(parsed)


class SlackHttpEndpoint:
    """The Starlette handler for /slack/events in front of the bolt app."""

    def __init__(self, bolt: AsyncApp, signing_secret: str,
                 inbox: SlackEventInbox | None = None) -> None:
        self.handler = AsyncSlackRequestHandler(bolt)
        self.verifier = SignatureVerifier(signing_secret)
        self.inbox = inbox

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        refusal = refuse_request(body, request.headers, self.verifier)
        if refusal is None:
            reason = _unreadable(request, body)
            refusal = None if reason is None else (400, reason)
        if refusal is not None:
            status, reason = refusal
            log.warning("Slack request refused (%s): %s", status, reason)
            return PlainTextResponse(reason + "\n", status_code=status,
                                     headers={NO_RETRY_HEADER: "1"})
        event_id = _event_callback_id(body) if self.inbox is not None else None
        if self.inbox is not None and event_id is not None:
            try:
                await self.inbox.accept(event_id, body.decode("utf-8"))
            except Exception:
                log.exception("could not record Slack event %s; Slack will retry it", event_id)
                return PlainTextResponse("could not record the event; retry later\n",
                                         status_code=503)
            return Response(status_code=200)
        response = await self.handler.handle(request)  # the body is cached on the request
        if response.status_code == 404:
            # Bolt has no listener for it (another app's button, an event we don't ask for):
            # it can never succeed either.
            log.warning("Slack request refused (404): nothing here handles it (%s)",
                        _describe(request, body))
            response.headers[NO_RETRY_HEADER] = "1"
        return response


def _describe(request: Request, body: bytes) -> str:
    """A short, safe description of what a request carried (its kind and action ids)."""
    parsed = to_async_bolt_request(request, body).body
    kind = str(parsed.get("type") or parsed.get("command") or "unknown")[:40]
    actions = parsed.get("actions")
    ids = ([str(a.get("action_id"))[:60] for a in actions if isinstance(a, dict)]
           if isinstance(actions, list) else [])
    return f"{kind}{' ' + ', '.join(ids) if ids else ''}"


def _event_callback_id(body: bytes) -> str | None:
    """The event id of an Events API ``event_callback`` (JSON), None for anything else (url
    verification, interactive payloads and slash commands, which are form-encoded)."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    if not isinstance(parsed, dict) or parsed.get("type") != "event_callback":
        return None
    event_id = parsed.get("event_id")
    return event_id if isinstance(event_id, str) and event_id else None
