"""Canned Telegram Bot API failures, for ``TelegramStandIn.fail_next``, and the error body
shape the stand-in's own refusals share with them."""

from __future__ import annotations

from typing import Any

from tests.standins import Fault


def error_body(code: int, description: str, **parameters: Any) -> dict[str, Any]:
    """The Bot API's error answer: ``ok`` false, ``error_code``, ``description`` (and
    ``parameters`` such as ``retry_after``)."""
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return body


def flood_wait(retry_after: int) -> Fault:
    """429 with ``parameters.retry_after``, as Telegram's flood control answers."""
    return Fault(429, error_body(429, f"Too Many Requests: retry after {retry_after}",
                                 retry_after=retry_after))


def server_error(status: int = 500) -> Fault:
    """A 5xx from the Bot API."""
    return Fault(status, error_body(status, "Internal Server Error"))


def blocked_by_user() -> Fault:
    """403: the user blocked the bot (delivery to this chat is impossible until unblocked)."""
    return Fault(403, error_body(403, "Forbidden: bot was blocked by the user"))


def bad_request(description: str = "Bad Request: chat not found") -> Fault:
    return Fault(400, error_body(400, description))
