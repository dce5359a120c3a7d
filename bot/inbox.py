"""The inbox port: inbound events acknowledged to the platform before they are processed.

Slack wants every HTTP event answered within 3 seconds and retries (and counts against the
app) whatever is slower; a seller's turn with the NLU and a few transactions can be slower under
load. So such an event is *recorded* first, answered at once, and processed afterwards. The
record is what makes that safe: Slack never sends an acknowledged event again, so a process
that dies between the acknowledgement and the work must not take the event with it.

A record is a lease held by the process that received it; it is deleted once the event was
processed. A record whose lease ran out (its process died, or its processing failed) is claimed
by whichever process looks next, and processed again. Processing twice is harmless: the work
itself is exactly once through the inbound claims (`bot.inbound_claims`), which drop an event
already done.

Events of one *conversation* (a Slack channel and thread: an agent's reply and its edit or
deletion) are processed in the order they were recorded, whichever process holds them: an
event waits while an older record of its conversation is still there (being processed, or
left by a process that died), and only the oldest record of a conversation is claimed. An
event that has failed a few times (storage.inbox_queue.ORDER_KEEPING_ATTEMPTS) no longer holds
its conversation up: one poisonous event must not stop a seller's whole DM.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol


@dataclass(frozen=True)
class InboxEvent:
    """One recorded event, as held by one attempt (``owner``) to process it."""

    source: str
    event_id: str
    body: str
    owner: str
    attempts: int


class Inbox(Protocol):
    def record(self, source: str, event_id: str, body: str, now: datetime,
               lease: timedelta, conversation: str | None = None) -> InboxEvent | None:
        """Record the event, leased to the caller; None if it is recorded already (the
        platform sent it again while it waits): whoever holds it processes it.
        ``conversation``: its order is kept with the other events of that conversation."""
        ...

    def claim_due(self, source: str, now: datetime, lease: timedelta,
                  limit: int) -> list[InboxEvent]:
        """Lease up to ``limit`` records whose lease ran out, oldest first, to the caller:
        each the oldest record of its conversation. A record claimed again and again (its
        processing keeps failing) gets a longer lease each time, so a poisonous event is
        retried ever less often but kept."""
        ...

    def waits_behind_older(self, event: InboxEvent) -> bool:
        """Whether an older record of the event's conversation is still there: then the
        event must wait for it (``step_back``)."""
        ...

    def step_back(self, event: InboxEvent, now: datetime) -> None:
        """Give the event's record up for now (its lease ends at ``now``), so that it is
        claimed once it is the oldest of its conversation."""
        ...

    def done(self, event: InboxEvent) -> bool:
        """The event was processed: delete its record, if this attempt still holds it."""
        ...

    def waiting(self, source: str) -> int:
        """How many events are recorded and not processed yet."""
        ...
