"""Slack's Events API answered at once, processed after: the record-ack-process path.

Slack wants an event acknowledged within 3 seconds; a slower answer is retried and counted
against the app. A seller's DM turn (NLU, several transactions) or an agent's reply can take
longer under load, so an ``event_callback`` is recorded in the inbox (`bot.inbox`), answered
200, and only then handed to bolt's listeners, in a task of this process.

The record comes first because Slack never redelivers an acknowledged event: if this process
dies before (or while) the listeners run, the record's lease runs out and the recovery loop of
any serving process (this one after a restart, or another) claims it and processes it. A
processing failure (the database went away mid-turn) leaves the record to the same loop. The
listeners' own work stays exactly once through the inbound claims, so a second processing of an
event already done is dropped there.

Events of one conversation (a case thread, a seller's DM) are processed one after another in the
order they came in, as they were when each was processed before its answer: an agent's note and
the reply right after it must not swap places on their way to the seller, and a deletion must
not be processed before the reply it deletes. In this process a lock per conversation keeps the
order; across crashes and processes the inbox does (an event steps back while an older record of
its conversation is still there, and only the oldest is claimed: `bot.inbox`).

Interactive payloads (buttons, modals) and slash commands still run before their answer: their
answer carries content (errors in a modal, a command's reply) and Slack does not retry them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import timedelta
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.clock import Clock
from bot.inbox import Inbox, InboxEvent
from bot.urgent_work import urgent

log = logging.getLogger(__name__)

SOURCE = "slack"
#: How often the recovery loop looks for records whose lease ran out.
RECOVERY_POLL_SECONDS = 1.0
#: Records claimed per look.
RECOVERY_BATCH = 20
#: From this many attempts on, a failing event is logged as an error (it is still retried).
LOUD_ATTEMPTS = 5


class SlackEventInbox:
    """Records events before their acknowledgement and runs bolt's listeners on them after."""

    def __init__(self, bolt: AsyncApp, inbox: Inbox, clock: Clock, lease: timedelta,
                 poll_seconds: float = RECOVERY_POLL_SECONDS) -> None:
        self.bolt = bolt
        self.inbox = inbox
        self.clock = clock
        self.lease = lease
        self.poll_seconds = poll_seconds
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        # One lock per conversation with events in flight; asyncio's locks are FIFO, and
        # tasks start in the order they were made, so a conversation keeps its order.
        self._conversations: dict[str, tuple[asyncio.Lock, int]] = {}

    async def accept(self, event_id: str, body: str) -> None:
        """Record the event (durably, before the caller acknowledges it) and start processing
        it. A Slack retry of an event already recorded is only acknowledged: the holder of the
        record processes it. Raises if the record cannot be written (then the caller answers
        5xx, and Slack retries)."""
        agents = in_a_case_thread(body)
        with _priority(agents):
            event = await asyncio.to_thread(self.inbox.record, SOURCE, event_id, body,
                                            self.clock.now(), self.lease,
                                            conversation_of(body) or None)
        if event is None:
            log.info("Slack event %s is recorded already; acknowledged again", event_id)
            return
        self._spawn(event, agents)

    def _spawn(self, event: InboxEvent, agents: bool) -> None:
        with _priority(agents):
            task = asyncio.create_task(self._in_order(event),
                                       name=f"slack-event-{event.event_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _in_order(self, event: InboxEvent) -> None:
        key = conversation_of(event.body)
        lock, users = self._conversations.get(key, (asyncio.Lock(), 0))
        self._conversations[key] = (lock, users + 1)
        try:
            async with lock:
                await self._process(event)
        finally:
            lock, users = self._conversations[key]
            if users <= 1:
                del self._conversations[key]
            else:
                self._conversations[key] = (lock, users - 1)

    async def _process(self, event: InboxEvent) -> None:
        if await asyncio.to_thread(self.inbox.waits_behind_older, event):
            # An older event of this conversation is still recorded: its process died, or
            # another process is at it. This one is claimed after it (bot.inbox).
            log.info("Slack event %s waits for an older event of its conversation",
                     event.event_id)
            await asyncio.to_thread(self.inbox.step_back, event, self.clock.now())
            return
        # Signature and shape were checked when the event came in; a recovered event's
        # signature is stale by now, so the dispatch goes the way Socket Mode's does (no
        # request signature; bolt still runs every listener and middleware).
        request = AsyncBoltRequest(body=event.body, mode="socket_mode")
        try:
            response = await self.bolt.async_dispatch(request)
            status = response.status
        except Exception:
            log.exception("Slack event %s failed (attempt %d); retried when its lease runs out",
                          event.event_id, event.attempts)
            return
        if status >= 500:
            level = logging.ERROR if event.attempts >= LOUD_ATTEMPTS else logging.WARNING
            log.log(level, "Slack event %s not processed (bolt answered %s, attempt %d); "
                    "retried when its lease runs out", event.event_id, status, event.attempts)
            return
        try:
            await asyncio.to_thread(self.inbox.done, event)
        except Exception:
            # Processed, but the record stays: its retry is dropped by the inbound claim.
            log.warning("could not clear the inbox record of Slack event %s", event.event_id,
                        exc_info=True)

    async def recover_once(self) -> int:
        """Claim the records whose lease ran out and process them; how many were claimed."""
        events = await asyncio.to_thread(self.inbox.claim_due, SOURCE, self.clock.now(),
                                         self.lease, RECOVERY_BATCH)
        for event in events:
            log.info("recovering Slack event %s (attempt %d)", event.event_id, event.attempts)
            self._spawn(event, in_a_case_thread(event.body))
        return len(events)

    async def _recovery_loop(self) -> None:
        while True:
            try:
                await self.recover_once()
            except Exception:
                log.warning("could not look for Slack events to recover", exc_info=True)
            await asyncio.sleep(self.poll_seconds)

    async def start(self) -> None:
        if self._loop_task is None:
            self._loop_task = asyncio.create_task(self._recovery_loop(),
                                                  name="slack-inbox-recovery")

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Stop looking for lapsed records; let events being processed finish (a graceful
        stop loses nothing either way: an unfinished record is recovered by the next)."""
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace_seconds)


def _priority(agents: bool) -> contextlib.AbstractContextManager[None]:
    """An agent's message in a case thread is a reply somebody waits for, one of few: its
    work goes ahead of sellers' new turns for a worker thread (bot.urgent_work)."""
    return urgent() if agents else contextlib.nullcontext()


def _event_of(body: str) -> dict[str, Any]:
    """The ``event`` of an Events API body; empty when the body is not one."""
    try:
        event = json.loads(body).get("event") or {}
    except (ValueError, AttributeError):
        return {}
    return event if isinstance(event, dict) else {}


def _thread_of(event: dict[str, Any]) -> str:
    """The event's thread, or "". An edit carries it in the message as it is now, a deletion
    in the message it took away, and a deletion shown as a tombstone (an edit) in the new
    message: wherever the handler reads it, so an agent's reply and its edit or deletion are
    one conversation, processed in order."""
    found = event.get("thread_ts")
    for inner in ("message", "previous_message"):
        message = event.get(inner)
        if not found and isinstance(message, dict):
            found = message.get("thread_ts")
    return str(found or "")


def conversation_of(body: str) -> str:
    """The conversation an event belongs to: its channel and thread; a DM, or a channel's top
    level, is one conversation."""
    event = _event_of(body)
    if not event:
        return ""
    return f"{event.get('channel', '')}:{_thread_of(event)}"


def in_a_case_thread(body: str) -> bool:
    """Whether an event is a message (or its edit or deletion) in a channel's thread, where
    agents answer cases: not in a DM (a seller's conversation), and not the bot's own relayed
    message coming back (dropped on arrival: nobody waits for it)."""
    event = _event_of(body)
    own = event.get("bot_id") or event.get("subtype") == "bot_message"
    return (event.get("type") == "message" and event.get("channel_type") != "im"
            and not own and bool(_thread_of(event)))
