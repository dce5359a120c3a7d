"""What the Slack stand-in's channels hold, and the message ts and ids it hands out.

State is kept per channel so tests can look at threads: ``standin.messages[channel]`` lists
what was posted (with ``thread_ts`` for replies) and reactions. Posting to a user id (``U...``)
lands in that user's DM channel (``D...``), as on Slack. The base of ``SlackStandIn``, shared by
the parts of it that post messages (chat.*, file sharing).
"""

from __future__ import annotations

import hashlib
import itertools
import time
from typing import Any

from tests.standins import StandInServer


class SlackChannels(StandInServer):
    """The messages by channel, and one counter behind every ts and id the stand-in makes."""

    def __init__(self, latency: float = 0.0) -> None:
        super().__init__(latency)
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self._ts_counter = itertools.count(1)
        self._ts_base = int(time.time())

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """The replies posted in the thread of ``ts`` in ``channel``, in order."""
        return [m for m in self.messages.get(channel, []) if m.get("thread_ts") == ts]

    def find(self, channel: str, ts: str) -> dict[str, Any] | None:
        return next((m for m in self.messages.get(channel, []) if m["ts"] == ts), None)

    def _next_ts(self) -> str:
        # Unique and increasing, shaped like Slack's "seconds.micro-sequence".
        n = next(self._ts_counter)
        return f"{self._ts_base + n // 1_000_000}.{n % 1_000_000:06d}"

    @staticmethod
    def _dm_channel(user_id: str) -> str:
        return "D" + hashlib.sha1(user_id.encode()).hexdigest()[:10].upper()
