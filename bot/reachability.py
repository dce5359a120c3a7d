"""Whether a seller's chat takes messages, as the platform reports it (Telegram sends a
``my_chat_member`` update when a seller blocks or unblocks the bot).

A blocked chat is marked at once, so nothing more is queued to it and the agents know before
a send fails; an unblocked one gets messages again from then on. A seller who simply writes
again is handled by the engine the same way (``Relay.seller_reachable``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.clock import Clock
from bot.inbound_claims import working_on
from bot.messages import ChatMembership
from bot.ports import UnitOfWork, UnitOfWorkFactory
from bot.relay import Relay

# The claim commits with the work, so its lease is never seen by another attempt.
_LEASE = timedelta(seconds=30)


class Reachability:
    def __init__(self, uow_factory: UnitOfWorkFactory, relay: Relay, clock: Clock) -> None:
        self.uow = uow_factory
        self.relay = relay
        self.clock = clock

    def membership(self, change: ChatMembership) -> str:
        """Apply one report: "blocked", "reachable", "unchanged", "unknown" (no such user
        yet, e.g. the update that comes with a first /start) or "duplicate" (a replay)."""
        now = self.clock.now()
        with self.uow() as uow:
            claim = None
            if change.event_id:
                # Claimed and done in this one transaction (the commits below complete it).
                claim = uow.inbound.claim(change.channel, change.event_id, now, _LEASE)
                if claim is None:
                    return "duplicate"
            with working_on(claim):
                return self._apply(uow, change, now)

    def _apply(self, uow: UnitOfWork, change: ChatMembership, now: datetime) -> str:
        identity = uow.identities.find(change.channel, change.user_id)
        if identity is None:
            uow.commit()  # keep the claim: a replay is still a replay
            return "unknown"
        if (identity.blocked_at is None) == change.reachable:
            uow.commit()
            return "unchanged"
        if change.reachable:
            self.relay.seller_reachable(uow, identity, now)
        else:
            self.relay.seller_unreachable(uow, identity, now)
        uow.commit()
        return "reachable" if change.reachable else "blocked"
