"""Who is in the agents' Slack user group and who is away, for round-robin assignment
(``ASSIGN_NEXT`` items; the choice itself is ``bot.round_robin``).

``usergroups.users.list`` (scope ``usergroups:read``) gives the group's active members and
``users.getPresence`` (scope ``users:read``) whether each is "away". Both are rate-limited Web
API methods, so a roster read is kept for ``ttl`` seconds: a burst of new cases asks Slack
once. A member Slack no longer knows (``user_not_found``) counts as away; any other error
fails the item, which the sender reports (the group missing or a scope not granted are
permanent, and the case's thread is told).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.outbox import DeliveryResult, OutboundItem
from bot.round_robin import Roster

#: How long a roster read is reused.
ROSTER_TTL_SECONDS = 30.0
#: Presence look-ups in flight at once (one per member).
_PARALLEL_LOOKUPS = 5
_GONE_USER_ERRORS = frozenset({"user_not_found", "user_not_visible"})


class SlackRoster:
    def __init__(self, client: AsyncWebClient, ttl: float = ROSTER_TTL_SECONDS) -> None:
        self.client = client
        self.ttl = ttl
        self._cache: dict[str, tuple[float, Roster]] = {}

    async def read(self, group: str) -> Roster:
        """The group's members and who of them is away (raises SlackApiError)."""
        cached = self._cache.get(group)
        if cached is not None and time.monotonic() - cached[0] < self.ttl:
            return cached[1]
        response = await self.client.usergroups_users_list(usergroup=group)
        members = tuple(str(u) for u in response.get("users") or ())
        limit = asyncio.Semaphore(_PARALLEL_LOOKUPS)

        async def away(user: str) -> bool:
            async with limit:
                try:
                    presence = await self.client.users_getPresence(user=user)
                except SlackApiError as exc:
                    if str(exc.response.get("error") or "") in _GONE_USER_ERRORS:
                        return True
                    raise
            return presence.get("presence") == "away"

        flags = await asyncio.gather(*(away(user) for user in members))
        roster = Roster(members, frozenset(u for u, gone in zip(members, flags, strict=True)
                                           if gone))
        self._cache[group] = (time.monotonic(), roster)
        return roster

    def call(self, item: OutboundItem) -> Callable[[], Awaitable[DeliveryResult]]:
        """The delivery of an ``ASSIGN_NEXT`` item: the roster, in ``extra``."""
        group = str(item.payload["group"])
        if not group:
            raise ValueError("no agents' group")

        async def report() -> DeliveryResult:
            roster = await self.read(group)
            return DeliveryResult(ok=True, extra=roster.as_extra())

        return report
