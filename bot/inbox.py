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
               lease: timedelta) -> InboxEvent | None:
        """Record the event, leased to the caller; None if it is recorded already (the
        platform sent it again while it waits): whoever holds it processes it."""
        ...

    def claim_due(self, source: str, now: datetime, lease: timedelta,
                  limit: int) -> list[InboxEvent]:
        """Lease up to ``limit`` records whose lease ran out, oldest first, to the caller.
        A record claimed again and again (its processing keeps failing) gets a longer lease
        each time, so a poisonous event is retried ever less often but kept."""
        ...

    def done(self, event: InboxEvent) -> bool:
        """The event was processed: delete its record, if this attempt still holds it."""
        ...

    def waiting(self, source: str) -> int:
        """How many events are recorded and not processed yet."""
        ...
