"""Canned Slack Web API failures, for ``SlackStandIn.fail_next``."""

from __future__ import annotations

from tests.standins import Fault


def rate_limited(retry_after: int = 1) -> Fault:
    """HTTP 429 with a Retry-After header, as the Web API answers when rate limited."""
    return Fault(429, {"ok": False, "error": "ratelimited"},
                 headers={"Retry-After": str(retry_after)})


def server_error(status: int = 500) -> Fault:
    """A 5xx with an HTML body (what Slack's edge really returns, not JSON)."""
    return Fault(status, f"<html><body>{status} Server Error</body></html>",
                 content_type="text/html")


def api_error(error: str) -> Fault:
    """HTTP 200 with ``{"ok": false, "error": ...}``: how the Web API reports most errors."""
    return Fault(200, {"ok": False, "error": error})
