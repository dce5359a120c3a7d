"""Exactly-once processing of inbound platform events, across crashes and outages.

A platform redelivers an event it did not see answered (Telegram: any non-2xx webhook answer;
Slack: no acknowledgement within 3 s). Processing it twice would repeat its work (a message
added to a case twice); dropping a redelivery whose first attempt died would lose it.

So a claim on an event is a *lease*: it keeps concurrent redeliveries out while the first
attempt works, and the event's first work commits together with a mark on the claim, checking
that this attempt still owns the lease (``current_claim``: every unit of work committed while a
claim is current does this as part of its own commit). Hence:

- the attempt dies or loses the database before any work commits: nothing is done, the lease
  runs out, and the platform's redelivery takes the event over and processes it;
- the work commits: a redelivery never does it again;
- the attempt was so slow that its lease ran out and a redelivery took over: the slow attempt's
  commit finds it no longer owns the claim and rolls its work back (``ClaimLost``).

A seller's message also has an *answer*: the bot's reply and its dialogue state. A seller's
turn does its work and saves its answer in one transaction (``TurnTransaction`` in bot.ports:
the case rules' units of work join it as savepoints), and that transaction marks the claim
done. So a kill or an outage at any point of a turn leaves either nothing of it, and the
redelivery processes the message from the start, against the database as it was, or all of
it, and the redelivery is dropped. A turn never commits half its work, and no turn is replayed
against its own work (which would answer "already open" to the message that opened the case).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

LEASED, DONE, RELEASED = "leased", "done", "released"


@dataclass
class InboundClaim:
    """This attempt's lease on one inbound event. Mutable: worker threads started with
    asyncio.to_thread get a copy of the context, but the same claim object."""

    source: str
    event_id: str
    owner: str = field(default_factory=lambda: uuid.uuid4().hex)
    state: str = LEASED

    @property
    def leased(self) -> bool:
        """Nothing of this event is saved yet."""
        return self.state == LEASED


class ClaimLost(RuntimeError):
    """The lease ran out and another attempt took the event over: this attempt's work must
    not be saved (the other attempt does it)."""

    def __init__(self, claim: InboundClaim) -> None:
        super().__init__(f"inbound event {claim.source}:{claim.event_id} was taken over by a "
                         "redelivery after its lease ran out")
        self.claim = claim


class EventInProgress(Exception):
    """A redelivery arrived while another attempt holds a live lease on the event. It must not
    be answered as done: if that attempt dies, nothing else would bring the event back. The
    adapter answers so the platform redelivers later (HTTP 503); by then the event is done (a
    replay, dropped) or its lease ran out (taken over, processed)."""

    def __init__(self, source: str, event_id: str) -> None:
        super().__init__(f"inbound event {source}:{event_id} is being processed by another "
                         "attempt; asking for a later redelivery")
        self.source = source
        self.event_id = event_id


# A redelivery that finds another attempt working waits this long (seconds, polling) for it to
# finish before asking the platform to come back later: a duplicate delivered side by side
# with its original (a double tap, a Slack retry of a slow answer) is then answered as done.
# Below Slack's 3 s acknowledgement limit.
IN_PROGRESS_WAIT = 2.0
IN_PROGRESS_POLL = 0.05


# The claim of the event whose work is running; units of work complete it on commit.
current_claim: ContextVar[InboundClaim | None] = ContextVar("current_claim", default=None)


@contextmanager
def working_on(claim: InboundClaim | None) -> Iterator[None]:
    """Run the event's work with ``claim`` current (None: an event without an id)."""
    token = current_claim.set(claim)
    try:
        yield
    finally:
        current_claim.reset(token)
