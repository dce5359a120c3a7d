"""Reading a conversation back from the Slack stand-in: ``conversations.history`` and
``conversations.replies``, shaped like the Web API's answers.

* history: the top-level messages of a channel (thread parents included, replies not),
  newest first, within ``oldest``/``latest`` (exclusive unless ``inclusive``);
* replies: the parent of the thread of ``ts`` first, then its replies, oldest first;
  ``thread_not_found`` when ``ts`` is not a message of the channel.

Both page with ``limit`` (default 100 / 1000) and an opaque ``cursor``
(``response_metadata.next_cursor``, with ``has_more``). Message ``metadata`` is part of a
message only when ``include_all_metadata`` is true, so a reader that forgets to ask sees none.
A user id (``U...``/``W...``) is not a conversation: ``channel_not_found``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

Messages = dict[str, list[dict[str, Any]]]
HandlerResult = tuple[int, Any]


def history_handler(messages: Messages) -> Callable[[dict[str, Any]], HandlerResult]:
    """The ``conversations.history`` handler over the stand-in's messages by channel."""

    def history(params: dict[str, Any]) -> HandlerResult:
        channel = str(params.get("channel") or "")
        if not channel or channel.startswith(("U", "W")):
            return 200, {"ok": False, "error": "channel_not_found"}
        inclusive = _truthy(params.get("inclusive"))
        oldest, latest = _ts(params.get("oldest")), _ts(params.get("latest"))
        top_level = [m for m in messages.get(channel, [])
                     if m.get("thread_ts") in (None, m["ts"])
                     and _within(_ts(m["ts"]), oldest, latest, inclusive)]
        top_level.sort(key=lambda m: _ts(m["ts"]) or Decimal(0), reverse=True)
        return _page(top_level, params, default_limit=100, newest_first=True)

    return history


def replies_handler(messages: Messages) -> Callable[[dict[str, Any]], HandlerResult]:
    """The ``conversations.replies`` handler over the stand-in's messages by channel."""

    def replies(params: dict[str, Any]) -> HandlerResult:
        channel, ts = str(params.get("channel") or ""), str(params.get("ts") or "")
        if not channel or channel.startswith(("U", "W")):
            return 200, {"ok": False, "error": "channel_not_found"}
        in_channel = messages.get(channel, [])
        parent = next((m for m in in_channel if m["ts"] == ts), None)
        if parent is None:
            return 200, {"ok": False, "error": "thread_not_found"}
        thread = [parent] + sorted(
            (m for m in in_channel if m.get("thread_ts") == ts and m["ts"] != ts),
            key=lambda m: _ts(m["ts"]) or Decimal(0))
        return _page(thread, params, default_limit=1000, newest_first=False)

    return replies


def _page(ordered: list[dict[str, Any]], params: dict[str, Any], *, default_limit: int,
          newest_first: bool) -> HandlerResult:
    try:
        limit = max(1, min(int(params.get("limit") or default_limit), 1000))
    except ValueError:
        return 200, {"ok": False, "error": "invalid_limit"}
    start = 0
    cursor = params.get("cursor")
    if cursor:
        after = _cursor_ts(str(cursor))
        if after is None:
            return 200, {"ok": False, "error": "invalid_cursor"}

        def reached(message: dict[str, Any]) -> bool:
            # The cursor names the first message of the next page.
            ts = _ts(message["ts"]) or Decimal(0)
            return ts <= after if newest_first else ts >= after

        start = next((i for i, m in enumerate(ordered) if reached(m)), len(ordered))
    page = ordered[start:start + limit]
    rest = ordered[start + limit:]
    with_metadata = _truthy(params.get("include_all_metadata"))
    body: dict[str, Any] = {
        "ok": True, "messages": [_as_read(m, with_metadata) for m in page],
        "has_more": bool(rest), "pin_count": 0,
        "response_metadata": {"next_cursor": _cursor(rest[0]["ts"]) if rest else ""},
    }
    return 200, body


def _as_read(message: dict[str, Any], with_metadata: bool) -> dict[str, Any]:
    copy = dict(message)
    if not with_metadata:
        copy.pop("metadata", None)
    return copy


def _cursor(ts: str) -> str:
    return base64.b64encode(f"next_ts:{ts}".encode()).decode()


def _cursor_ts(cursor: str) -> Decimal | None:
    try:
        decoded = base64.b64decode(cursor.encode(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return _ts(decoded.removeprefix("next_ts:")) if decoded.startswith("next_ts:") else None


def _ts(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _within(ts: Decimal | None, oldest: Decimal | None, latest: Decimal | None,
            inclusive: bool) -> bool:
    if ts is None:
        return False
    if oldest is not None and (ts < oldest or (ts == oldest and not inclusive)):
        return False
    return not (latest is not None and (ts > latest or (ts == latest and not inclusive)))


def _truthy(value: Any) -> bool:
    return str(value).lower() in ("1", "true") if value is not None else False
