"""The conversational engine: one inbound seller message in, replies out (rules 1-11).

`Engine.handle` is the entry point every channel adapter calls. It claims the platform event
(replays are dropped), identifies the user, loads the dialogue state, routes the message
through the flows in `bot.dialogue`, then saves the state and queues the replies to the
user's channel through the outbox in one transaction.

A turn that fails unexpectedly gives back its claim on the event, so a redelivery of the same
event by the platform is processed instead of being dropped as a replay.

Threading: the database layer is synchronous, so every storage call runs in a worker thread
(`asyncio.to_thread`); the classifier is awaited outside any transaction.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field, replace
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
from bot.domain import Identity
from bot.errors import CaseRuleError
from bot.knowledge import KnowledgeBase
from bot.messages import Reply, SellerMessage
from bot.ports import Conversation, UnitOfWorkFactory, turn_commits
from bot.relay import Relay
from bot.texts import t

__all__ = ["Engine", "EngineConfig"]

log = logging.getLogger(__name__)

_DISPLAY_NAME_CHARS = 200


@dataclass
class _Claim:
    """The inbound event a turn claimed. The lock orders the turn's last transaction against
    a release of the claim, so exactly one of them happens: either the turn's work was saved
    (the claim stays), or the claim is given back (a redelivery is processed)."""

    channel: str
    event_id: str | None
    lock: threading.Lock = field(default_factory=threading.Lock)
    saved: bool = False
    released: bool = False
    work_committed: bool = False  # a flow of the turn committed something: keep the claim


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
        self._background: set[asyncio.Future[None]] = set()

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
            # Let the request leave before the first transaction's worker thread competes for
            # the interpreter (it would delay sending it).
            for _ in range(4):
                await asyncio.sleep(0)
        try:
            return await self._turn(msg, text, prefetch)
        finally:
            if prefetch is not None and not prefetch.done():
                prefetch.cancel()

    async def _turn(self, msg: SellerMessage, text: str,
                    prefetch: asyncio.Task[Classification] | None) -> list[Reply]:
        claim = _Claim(msg.channel, msg.event_id)
        begin = asyncio.ensure_future(asyncio.to_thread(self._begin, msg))
        try:
            start = await asyncio.shield(begin)
        except asyncio.CancelledError:
            # The claim may still commit in its thread: give it back once it has.
            begin.add_done_callback(lambda done: self._release_later(done, claim))
            raise
        if start is None:
            return []
        try:
            return await self._work(msg, text, prefetch, start, claim)
        except BaseException:
            # The work failed before it was saved (a database error, a cancelled task):
            # give the event back, so the platform's redelivery is not dropped as a replay.
            if claim.event_id and not claim.saved and not claim.work_committed:
                await asyncio.shield(asyncio.to_thread(self._release, claim))
            raise

    async def _work(self, msg: SellerMessage, text: str,
                    prefetch: asyncio.Task[Classification] | None, start: Conversation,
                    claim: _Claim) -> list[Reply]:
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
        failed = False
        if too_big and not text and not msg.attachments:
            pass  # nothing else in the message: the refusal is the whole answer
        elif len(turn.text) > self.config.max_text_chars:
            # Answer before any work: nothing is classified or stored, the flow stays put.
            turn.say("input.too_long", length=len(turn.text), limit=self.config.max_text_chars)
        else:
            commits: list[None] = []
            token = turn_commits.set(commits)
            try:
                await route(turn)
            except CaseRuleError as err:
                refusal(turn, err)
            except Exception:
                log.exception("engine failed on a %s message from %s", msg.channel, msg.user_id)
                turn.replies = [Reply(t("engine.error"))]
                failed = True  # keep the conversation where it was; a redelivery is processed
            finally:
                turn_commits.reset(token)
                # Part of the work is saved (a message added to a case...): a redelivery of
                # this event would repeat it, so from here on the claim stays.
                claim.work_committed = bool(commits)
        buttons = tuple(b for reply in turn.replies for b in reply.buttons)
        state.offer(buttons)
        new_state = None if failed else state.dump()
        if new_state == start.state:
            new_state = None  # unchanged: nothing to write
        seller_id = turn.seller.id if turn.seller else None
        identity_changed = turn.identity_changed or seller_id != start.identity.seller_id
        await asyncio.to_thread(self._finish, msg, turn.identity, identity_changed, new_state,
                                turn.replies, claim, failed and not claim.work_committed)
        return turn.replies

    # Transactions -------------------------------------------------------------------------
    def _begin(self, msg: SellerMessage) -> Conversation | None:
        """Claim the event, find or create the user, load the dialogue: one transaction."""
        now = self.clock.now()
        with self.uow_factory() as uow:
            if msg.event_id and not uow.inbound.claim(msg.channel, msg.event_id, now):
                return None
            name = clean_text(msg.display_name)[:_DISPLAY_NAME_CHARS] or None
            start = uow.dialogue.start(msg.channel, msg.user_id, msg.address, name, now)
            if start.identity.blocked_at is not None:
                # Writing to the bot means the chat takes messages again (the seller unblocked
                # it): answer them, and deliver the agents' replies from now on.
                start = replace(start, identity=self.relay.seller_reachable(
                    uow, start.identity, now))
            uow.commit()
        return start

    def _finish(self, msg: SellerMessage, identity: Identity, identity_changed: bool,
                state: dict[str, Any] | None, replies: list[Reply], claim: _Claim,
                release: bool) -> None:
        """Save the dialogue and queue the replies together: both happen or neither. With
        ``release`` (the turn failed) the event's claim is given back in the same transaction."""
        now = self.clock.now()
        with claim.lock:
            if claim.released:
                return  # given up already (the turn was cancelled): save nothing
            with self.uow_factory() as uow:
                if state is not None:
                    uow.dialogue.save(msg.channel, msg.user_id, state, now)
                if identity_changed:
                    # The identity row changed in this turn (registration): queue with the
                    # current one.
                    identity = uow.identities.get(identity.id) or identity
                for reply in replies:
                    self.relay.to_identity(uow, identity, reply, now)
                if release and claim.event_id:
                    uow.inbound.release(claim.channel, claim.event_id)
                uow.commit()
            claim.saved = True

    def _release_later(self, begin: asyncio.Future[Conversation | None], claim: _Claim) -> None:
        if (not claim.event_id or begin.cancelled() or begin.exception() is not None
                or begin.result() is None):
            return  # nothing was claimed
        task = asyncio.ensure_future(asyncio.to_thread(self._release, claim))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _release(self, claim: _Claim) -> None:
        """Give the event back (its turn failed before its work was saved); best effort."""
        assert claim.event_id is not None
        with claim.lock:
            if claim.saved:
                return
            claim.released = True
            try:
                with self.uow_factory() as uow:
                    uow.inbound.release(claim.channel, claim.event_id)
                    uow.commit()
            except Exception:
                log.exception("could not release inbound event %s:%s; a redelivery will be "
                              "dropped", claim.channel, claim.event_id)
