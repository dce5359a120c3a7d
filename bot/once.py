"""Running the work of one inbound event once (bot.inbound_claims), for events whose work is
a case-rule call and has no answer to save after it: an agent's Slack event, a seller's
portal form (its submission id is the event id: a double click or a browser sending the form
again after a lost answer is applied once).

``claim`` leases the event; ``run`` does its work with the claim current, so the work's commit
completes the claim in the same transaction. Work that commits nothing completes it on its own
(the event is answered, nothing is left to do); work that fails gives it back at once, so a
retry need not wait for the lease to run out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from bot.clock import Clock
from bot.inbound_claims import (
    IN_PROGRESS_POLL,
    IN_PROGRESS_WAIT,
    RELEASED,
    ClaimLost,
    EventInProgress,
    InboundClaim,
    working_on,
)
from bot.ports import UnitOfWorkFactory

log = logging.getLogger(__name__)
T = TypeVar("T")


class OnceRunner:
    """Claims and runs the events of one ``source`` ("slack", "portal"...)."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock, source: str,
                 lease: timedelta = timedelta(seconds=30)) -> None:
        self.uow = uow_factory
        self.clock = clock
        self.source = source
        # How long an event is held before a retry may take it over (its attempt died).
        self.lease = lease

    def claim(self, event_id: str) -> InboundClaim | None:
        """This attempt's lease on the event, or None when its work is done already (a
        repeat). Another attempt working on it is given a moment (IN_PROGRESS_WAIT) to finish;
        then EventInProgress: the caller asks for a later retry."""
        deadline = time.monotonic() + IN_PROGRESS_WAIT
        while True:
            with self.uow() as uow:
                claim = uow.inbound.claim(self.source, event_id, self.clock.now(), self.lease)
                busy = claim is None and uow.inbound.in_progress(self.source, event_id)
                uow.commit()
            if not busy:
                return claim
            if time.monotonic() >= deadline:
                raise EventInProgress(self.source, event_id)
            time.sleep(IN_PROGRESS_POLL)

    def run(self, claim: InboundClaim | None, work: Callable[[], T]) -> T:
        """``work`` (its own transactions) with ``claim`` current; None: an event without an
        id, run as it is. A ``ClaimLost`` (this attempt outlived its lease and a retry took
        the event over; its work was rolled back) reaches the caller."""
        try:
            with working_on(claim):
                result = work()
                if claim is not None and claim.leased:
                    with self.uow() as uow:
                        uow.commit()  # nothing was written (ignored, refused): still done
                return result
        except ClaimLost:
            raise  # the claim is another attempt's now: nothing to give back
        except Exception:
            if claim is not None and claim.leased:
                self._give_back(claim)
            raise

    def _give_back(self, claim: InboundClaim) -> None:
        try:
            with self.uow() as uow:
                uow.inbound.release(claim)
                claim.state = RELEASED
                uow.commit()
        except Exception:
            log.warning("%s event %s failed and its claim could not be given back; a retry is "
                        "processed when its lease runs out", claim.source, claim.event_id,
                        exc_info=True)
