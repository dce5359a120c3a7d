"""How the Slack senders read a Web API failure: retry later, or never.

* HTTP 429 -> ``retry_after`` from the Retry-After header;
* HTTP 5xx, network errors and Slack's own transient errors (``internal_error``,
  ``fatal_error``, ``service_unavailable``, ``request_timeout``...) -> retryable;
* every other Web API error (``channel_not_found``, ``not_in_channel``, ``invalid_auth``,
  ``invalid_blocks``, ``message_not_found``...) -> permanent, with the error code in the text.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError

from bot.outbox import DeliveryResult

#: Web API errors that say "try again later", not "this will never work".
TRANSIENT_ERRORS = frozenset({
    "ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout",
    "team_added_to_org",
})


def _status_of(exc: SlackApiError) -> int | None:
    # AsyncSlackResponse has status_code; an undecodable body leaves aiohttp's response (status).
    response = exc.response
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    return int(status) if status is not None else None


def error_code(exc: SlackApiError) -> str:
    data = getattr(exc.response, "data", None)
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])
    return ""


def api_failure(exc: SlackApiError) -> DeliveryResult:
    status = _status_of(exc)
    code = error_code(exc)
    if status == 429 or code == "ratelimited":
        headers = getattr(exc.response, "headers", None) or {}
        return DeliveryResult(ok=False, retry_after=_retry_after(headers),
                              error="slack: rate limited")
    if status is not None and status >= 500:
        return DeliveryResult(ok=False, error=f"slack: HTTP {status} {code}".rstrip())
    if code in TRANSIENT_ERRORS:
        return DeliveryResult(ok=False, error=f"slack: {code}")
    return DeliveryResult(ok=False, permanent=True,
                          error=f"slack: {code or f'HTTP {status}'}")


def _retry_after(headers: Any) -> float:
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return max(float(value), 0.0)
    except (TypeError, ValueError):
        return 1.0  # Slack always sends it; be safe if a proxy dropped it
