"""The conversational engine: one inbound seller message in, replies out (rules 1-11).

`Engine.handle` is the entry point every channel adapter calls. It claims the platform event
(replays are dropped), identifies the user, loads the dialogue state, routes the message
through the flows in `bot.dialogue`, then saves the state and queues the replies to the
user's channel through the outbox in one transaction.

Threading: the database layer is synchronous, so every storage call runs in a worker thread
(`asyncio.to_thread`); the classifier is awaited outside any transaction.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from typing import Any

from bot.cases import CaseService
from bot.classification import Classification, Classifier
from bot.clock import Clock
from bot.dialogue.cleaning import clean_text
from bot.dialogue.common import refusal
from bot.dialogue.config import EngineConfig
from bot.dialogue.router import route
from bot.dialogue.state import DialogueState
from bot.dialogue.turn import Deps, Turn
from bot.domain import Identity, Seller
from bot.errors import CaseRuleError
from bot.knowledge import KnowledgeBase
from bot.messages import Reply, SellerMessage
from bot.ports import UnitOfWorkFactory
from bot.relay import Relay
from bot.texts import t

__all__ = ["Engine", "EngineConfig"]

log = logging.getLogger(__name__)

_DISPLAY_NAME_CHARS = 200


@dataclass
class _Start:
    identity: Identity
    seller: Seller | None
    state: dict[str, Any]


class Engine:
    """Turns seller messages into replies and case operations, whatever the channel."""

    def __init__(self, cases: CaseService, uow_factory: UnitOfWorkFactory, classifier: Classifier,
                 relay: Relay, config: EngineConfig, clock: Clock,
                 knowledge: KnowledgeBase) -> None:
        self.cases = cases
        self.uow_factory = uow_factory
        self.relay = relay
        self.config = config
        self.clock = clock
        self.deps = Deps(cases=cases, uow_factory=uow_factory, classifier=classifier,
                         config=config, clock=clock, knowledge=knowledge)
        # One message at a time per user in this process, so a double tap cannot interleave
        # two turns over the same dialogue state.
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    async def handle(self, msg: SellerMessage) -> list[Reply]:
        """Process one inbound seller message; returns the replies AND queues them to the
        outbox (relay.to_identity) for the user's channel. If ``msg.event_id`` was already
        processed, returns [] and does nothing."""
        key = (msg.channel, msg.user_id)
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                return await self._handle(msg)
        finally:
            if not lock.locked() and self._locks.get(key) is lock:
                del self._locks[key]

    async def _handle(self, msg: SellerMessage) -> list[Reply]:
        text = clean_text(msg.text)
        prefetch: asyncio.Task[Classification] | None = None
        if text and not msg.button and not msg.command and len(text) <= self.config.max_text_chars:
            # Most typed messages need the NLU: ask it now, so its round trip overlaps the
            # first database transaction instead of following it.
            prefetch = asyncio.create_task(self.deps.classifier.classify(text))
        try:
            return await self._turn(msg, text, prefetch)
        finally:
            if prefetch is not None and not prefetch.done():
                prefetch.cancel()

    async def _turn(self, msg: SellerMessage, text: str,
                    prefetch: asyncio.Task[Classification] | None) -> list[Reply]:
        start = await asyncio.to_thread(self._begin, msg)
        if start is None:
            return []
        state = DialogueState(start.state)
        too_big = [a for a in msg.attachments
                   if a.size is not None and a.size > self.config.max_attachment_bytes]
        if too_big:
            # The platform will not let us fetch these: say so, keep the rest of the message.
            msg = replace(msg, attachments=tuple(a for a in msg.attachments if a not in too_big))
        turn = Turn(msg=msg, text=text, identity=start.identity, seller=start.seller,
                    state=state, deps=self.deps, prefetch=prefetch)
        for attachment in too_big:
            turn.say("input.file_too_large", name=attachment.file_name or attachment.kind,
                     size_mb=round((attachment.size or 0) / 1_000_000, 1),
                     limit_mb=self.config.max_attachment_bytes // 1_000_000)
        save_state = True
        if too_big and not text and not msg.attachments:
            pass  # nothing else in the message: the refusal is the whole answer
        elif len(turn.text) > self.config.max_text_chars:
            # Answer before any work: nothing is classified or stored, the flow stays put.
            turn.say("input.too_long", length=len(turn.text), limit=self.config.max_text_chars)
        else:
            try:
                await route(turn)
            except CaseRuleError as err:
                refusal(turn, err)
            except Exception:
                log.exception("engine failed on a %s message from %s", msg.channel, msg.user_id)
                turn.replies = [Reply(t("engine.error"))]
                save_state = False  # keep the conversation where it was before this message
        buttons = tuple(b for reply in turn.replies for b in reply.buttons)
        state.offer(buttons)
        await asyncio.to_thread(self._finish, msg, start.identity, state if save_state else None,
                                turn.replies)
        return turn.replies

    # Transactions -------------------------------------------------------------------------
    def _begin(self, msg: SellerMessage) -> _Start | None:
        """Claim the event, find or create the user, load the dialogue: one transaction."""
        now = self.clock.now()
        with self.uow_factory() as uow:
            if msg.event_id and not uow.inbound.claim(msg.channel, msg.event_id, now):
                return None
            name = clean_text(msg.display_name)[:_DISPLAY_NAME_CHARS] or None
            identity = uow.identities.ensure(msg.channel, msg.user_id, msg.address, name, now)
            seller = uow.sellers.get(identity.seller_id) if identity.seller_id else None
            state = uow.dialogue.load(msg.channel, msg.user_id)
            uow.commit()
        return _Start(identity, seller, state)

    def _finish(self, msg: SellerMessage, identity: Identity, state: DialogueState | None,
                replies: list[Reply]) -> None:
        """Save the dialogue and queue the replies together: both happen or neither."""
        now = self.clock.now()
        with self.uow_factory() as uow:
            if state is not None:
                uow.dialogue.save(msg.channel, msg.user_id, state.dump(), now)
            # The identity row may have changed (registration): queue with the current one.
            current = uow.identities.get(identity.id) or identity
            for reply in replies:
                self.relay.to_identity(uow, current, reply, now)
            uow.commit()
