"""The conversational engine: one inbound seller message in, replies out (rules 1-11).

`Engine.handle` is the entry point every channel adapter calls. It claims the platform event
(replays are dropped), identifies the user, loads the dialogue state, routes the message
through the flows in `bot.dialogue`, then saves the state and queues the replies to the
user's channel through the outbox.

A turn saves its work (the case rules' units of work) and its answer in one transaction
(``UnitOfWorkFactory.one_transaction``), which also marks the event's claim done
(bot.inbound_claims): a crash or a database outage anywhere in the turn leaves nothing of it,
and the platform's redelivery processes the message afresh once the lease runs out. A turn
that fails unexpectedly gives its claim back at once, so that redelivery need not wait for the
lease.

Threading: the database layer is synchronous, so every storage call runs in a worker thread;
the classifier is awaited outside any transaction. After its claim, a turn's calls run on a
thread lent to it alone (bot.turn_threads says why).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from typing import Any

from bot import i18n
from bot.cases import CaseService
from bot.classification import Classification, Classifier
from bot.clock import Clock
from bot.dialogue import language
from bot.dialogue.cleaning import clean_text
from bot.dialogue.common import refusal
from bot.dialogue.config import EngineConfig
from bot.dialogue.router import route
from bot.dialogue.state import DialogueState
from bot.dialogue.turn import Deps, Turn, on_thread
from bot.domain import Identity
from bot.errors import CaseRuleError
from bot.inbound_claims import (
    IN_PROGRESS_POLL,
    IN_PROGRESS_WAIT,
    RELEASED,
    ClaimLost,
    EventInProgress,
    InboundClaim,
    working_on,
)
from bot.keyed_locks import KeyedLocks
from bot.knowledge import KnowledgeBase
from bot.messages import Attachment, Reply, SellerMessage
from bot.ports import Conversation, TurnTransaction, UnitOfWorkFactory
from bot.relay import Relay
from bot.texts import t
from bot.turn_threads import TurnThreads

__all__ = ["Engine", "EngineConfig"]

log = logging.getLogger(__name__)

_DISPLAY_NAME_CHARS = 200
# Runs of one turn when other processes' turns of the same user keep saving first.
_ATTEMPTS = 3


def _display_name(msg: SellerMessage) -> str | None:
    return clean_text(msg.display_name)[:_DISPLAY_NAME_CHARS] or None


class DialogueMovedOn(Exception):
    """Another turn of the user saved the dialogue after this one read it."""

    def __init__(self, channel: str, user_id: str) -> None:
        super().__init__(f"another turn of {channel}:{user_id} saved the dialogue first")


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
        self.deps = Deps(cases=cases, classifier=classifier,
                         config=config, clock=clock, knowledge=knowledge)
        # One message at a time per user in this process, so a double tap cannot interleave
        # two turns over the same dialogue state.
        self._turns_of = KeyedLocks()
        self._threads = TurnThreads()
        self._background: set[asyncio.Future[None]] = set()
        self._admission = (asyncio.Semaphore(config.max_concurrent_turns)
                           if config.max_concurrent_turns > 0 else None)

    async def handle(self, msg: SellerMessage) -> list[Reply]:
        """Process one inbound seller message; returns the replies AND queues them to the
        outbox (relay.to_identity) for the user's channel. If ``msg.event_id`` was already
        processed, returns [] and does nothing; if another attempt is working on it, raises
        EventInProgress (the platform must redeliver it later)."""
        async with self._turns_of.hold((msg.channel, msg.user_id)):
            return await self._handle(msg)

    async def _handle(self, msg: SellerMessage) -> list[Reply]:
        text = clean_text(msg.text)
        prefetch: asyncio.Task[Classification] | None = None
        if text and not msg.button and not msg.command and len(text) <= self.config.max_text_chars:
            # Most typed messages need the NLU: ask it now, so its round trip overlaps the
            # first database transaction instead of following it.
            prefetch = asyncio.create_task(self.deps.classifier.classify(text))
        try:
            if prefetch is not None and self._admission is not None:
                # The NLU's answer (or its time-out) comes before a place, so a slow Rasa holds
                # none; a typed message that turns out not to need it waits for it all the same.
                await asyncio.wait({prefetch})
            loop = asyncio.get_running_loop()
            deadline = loop.time() + IN_PROGRESS_WAIT
            while True:
                try:
                    async with self._admission or contextlib.nullcontext():
                        return await self._turn(msg, text, prefetch)
                except EventInProgress:
                    if loop.time() >= deadline:
                        raise
                    await asyncio.sleep(IN_PROGRESS_POLL)  # holding no place
        finally:
            if prefetch is not None and not prefetch.done():
                prefetch.cancel()

    async def _turn(self, msg: SellerMessage, text: str,
                    prefetch: asyncio.Task[Classification] | None) -> list[Reply]:
        begin = asyncio.ensure_future(asyncio.to_thread(self._begin, msg))
        try:
            started = await asyncio.shield(begin)
        except asyncio.CancelledError:
            # The claim may still commit in its thread: give it back once it has.
            begin.add_done_callback(self._release_later)
            raise
        if started is None:
            return []  # a replay of an event already done
        claim, start = started
        whole = self.uow_factory.one_transaction()
        thread = self._threads.lend()
        try:
            with working_on(claim):
                try:
                    with whole.current():
                        return await self._attempts(msg, text, prefetch, start, claim, whole,
                                                    thread)
                except ClaimLost as lost:
                    # This attempt outlived its lease and a redelivery took the event over:
                    # that attempt answers the seller; this one saved nothing.
                    log.warning("%s", lost)
                    return []
                except BaseException:
                    # Nothing of the turn is saved (a database error, a cancelled task): give
                    # the event back now, so the platform's redelivery is processed without
                    # waiting for the lease to run out. The turn's transaction goes first: on
                    # SQLite it may hold the write turn the release needs.
                    await asyncio.shield(on_thread(thread, whole.close))
                    if claim is not None and claim.leased:
                        await asyncio.shield(asyncio.to_thread(self._release, claim))
                    raise
        finally:
            thread.submit(whole.close)  # after any call still running on the thread
            self._threads.give_back(thread)

    async def _attempts(self, msg: SellerMessage, text: str,
                        prefetch: asyncio.Task[Classification] | None, start: Conversation,
                        claim: InboundClaim | None, whole: TurnTransaction,
                        thread: ThreadPoolExecutor) -> list[Reply]:
        """Run the turn. If another process ran a turn of the same user meanwhile and saved
        the dialogue first, this one ran on a state that is no more (its "Open it?" draft
        without the detail just added, say): nothing of it is saved, and it runs again from
        the state saved now, so its work is done once, on the right state."""
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                return await self._work(msg, text, prefetch, start, claim, whole, thread)
            except DialogueMovedOn:
                if attempt == _ATTEMPTS:
                    raise
                log.info("another turn of %s:%s saved the dialogue first; running this one "
                         "again from it", msg.channel, msg.user_id)
                await on_thread(thread, whole.rollback)
                start = await on_thread(thread, self._restart, msg)
        raise AssertionError("unreachable")

    async def _work(self, msg: SellerMessage, text: str,
                    prefetch: asyncio.Task[Classification] | None, start: Conversation,
                    claim: InboundClaim | None, whole: TurnTransaction,
                    thread: ThreadPoolExecutor) -> list[Reply]:
        state = DialogueState(start.state)
        too_big = [a for a in msg.attachments
                   if a.size is not None and a.size > self.config.max_attachment_bytes]
        if too_big:
            # The platform will not let us fetch these: say so, keep the rest of the message.
            msg = replace(msg, attachments=tuple(a for a in msg.attachments if a not in too_big))
        turn = Turn(msg=msg, text=text, identity=start.identity, seller=start.seller,
                    state=state, deps=self.deps, prefetch=prefetch, thread=thread)
        # The turn speaks the seller's language; one who has none yet (new, or from before
        # languages) gets the one they chose or the one their messages show, else English.
        known = language.known_for(turn)
        with i18n.speaking(i18n.speaker_of(start.seller, known or i18n.ENGLISH)):
            return await self._answer(turn, too_big, start, claim, known, whole)

    async def _answer(self, turn: Turn, too_big: list[Attachment], start: Conversation,
                      claim: InboundClaim | None, known: str | None,
                      whole: TurnTransaction) -> list[Reply]:
        msg, text, state = turn.msg, turn.text, turn.state
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
            try:
                if not await language.handle(turn):
                    await route(turn)
                language.notice_other_language(turn)
            except CaseRuleError as err:
                refusal(turn, err)
            except ClaimLost:
                raise
            except Exception as exc:
                if self.uow_factory.is_outage(exc):
                    # The database failed mid-turn: no apology and no "done". The event is
                    # given back and the platform, answered with an error, delivers it again.
                    log.warning("the database failed during the turn of a %s message from %s "
                                "(%s); it is processed when delivered again", msg.channel,
                                msg.user_id, type(exc).__name__)
                    raise
                log.exception("engine failed on a %s message from %s", msg.channel, msg.user_id)
                turn.replies = [Reply(t("engine.error"))]
                # Keep the conversation where it was and save none of the turn's work: the
                # apology is all that is saved, and a redelivery is processed afresh.
                await turn.call(whole.rollback)
                failed = True
        buttons = tuple(b for reply in turn.replies for b in reply.buttons)
        state.offer(buttons, self.clock.now())
        new_state = None if failed else state.dump()
        if new_state == start.state:
            new_state = None  # unchanged: nothing to write
        seller_id = turn.seller.id if turn.seller else None
        identity_changed = turn.identity_changed or seller_id != start.identity.seller_id
        # A failed turn gives the event back with its apology.
        release = failed and claim is not None and claim.leased
        new_language = None
        if turn.seller is not None and turn.seller.language is None:
            to_store = language.language_to_store(turn, known)
            new_language = (turn.seller.id, to_store) if to_store else None
        # If this fails, nothing is lost: nothing of the turn is saved, and its event is given
        # back (or its lease runs out) for the redelivery (see bot.inbound_claims).
        await turn.call(self._finish, msg, turn.identity, identity_changed, new_state,
                        turn.replies, claim, release, new_language, whole, start.state)
        return turn.replies

    # Transactions -------------------------------------------------------------------------
    def _begin(self, msg: SellerMessage) -> tuple[InboundClaim | None, Conversation] | None:
        """Lease the event, find or create the user, load the dialogue: one transaction."""
        now = self.clock.now()
        claim = None
        with self.uow_factory() as uow:
            if msg.event_id:
                claim = uow.inbound.claim(msg.channel, msg.event_id, now,
                                          timedelta(seconds=self.config.inbound_lease_seconds))
                if claim is None:
                    if uow.inbound.in_progress(msg.channel, msg.event_id):
                        raise EventInProgress(msg.channel, msg.event_id)
                    return None  # done: a replay
            start = uow.dialogue.start(msg.channel, msg.user_id, msg.address,
                                       _display_name(msg), now)
            if start.identity.blocked_at is not None:
                # Writing to the bot means the chat takes messages again (the seller unblocked
                # it): answer them, and deliver the agents' replies from now on.
                start = replace(start, identity=self.relay.seller_reachable(
                    uow, start.identity, now))
            uow.commit()  # no claim is current yet: the lease is taken, not completed
        return claim, start

    def _finish(self, msg: SellerMessage, identity: Identity, identity_changed: bool,
                state: dict[str, Any] | None, replies: list[Reply], claim: InboundClaim | None,
                release: bool, new_language: tuple[int, str] | None,
                whole: TurnTransaction, started_from: dict[str, Any]) -> None:
        """Save the dialogue and queue the replies, and commit them with the turn's work: all
        of it happens or none, and the event's claim is done in the same commit. With
        ``release`` (the turn failed; its work was rolled back) the claim is given back in
        this transaction instead. ``new_language``: (seller id, language) of a seller who had
        none yet. Raises DialogueMovedOn if the dialogue saved now is not the one the turn
        started from (another process's turn of the user saved first)."""
        now = self.clock.now()
        with whole.last_unit() as uow:
            # Locked until the commit: the other process's turn waits here, then sees ours.
            if not release and uow.dialogue.lock(msg.channel, msg.user_id,
                                                 now) != started_from:
                raise DialogueMovedOn(msg.channel, msg.user_id)
            if state is not None:
                uow.dialogue.save(msg.channel, msg.user_id, state, now)
            if new_language is not None:
                uow.sellers.set_preferences(new_language[0], new_language[1], None)
            if identity_changed:
                # The identity row changed in this turn (registration): queue with the
                # current one.
                identity = uow.identities.get(identity.id) or identity
            for reply in replies:
                self.relay.to_identity(uow, identity, reply, now)
            if claim is not None and release:
                uow.inbound.release(claim)
                claim.state = RELEASED
            uow.commit()  # the turn's work and answer, and the claim done

    def _restart(self, msg: SellerMessage) -> Conversation:
        """Where the dialogue stands now, for running a turn again (in its transaction)."""
        with self.uow_factory() as uow:
            start = uow.dialogue.start(msg.channel, msg.user_id, msg.address,
                                       _display_name(msg), self.clock.now())
            uow.commit()
        return start

    def _release_later(self, begin: asyncio.Future[tuple[InboundClaim | None, Conversation]
                                                    | None]) -> None:
        if begin.cancelled() or begin.exception() is not None:
            return
        started = begin.result()
        if started is None or started[0] is None:
            return  # nothing was claimed
        task = asyncio.ensure_future(asyncio.to_thread(self._release, started[0]))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _release(self, claim: InboundClaim) -> None:
        """Give the event back (its turn failed before its work was saved). Best effort: if
        the database is unreachable, the lease runs out instead."""
        try:
            with self.uow_factory() as uow:
                uow.inbound.release(claim)
                claim.state = RELEASED
                uow.commit()
        except Exception:
            log.warning("could not give back inbound event %s:%s; it is processed when its "
                        "lease runs out", claim.source, claim.event_id, exc_info=True)
