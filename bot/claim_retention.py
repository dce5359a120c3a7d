"""Forgetting the claims of inbound events no platform will deliver again.

Every Telegram update and Slack event leaves a row in ``processed_events``: its claim, which
turns a platform's redelivery into a no-op. A redelivery comes within minutes (Slack retries
three times in about an hour; Telegram keeps an unanswered update for 24 hours), so a done
claim older than that guards nothing, and the table would otherwise grow with every message
for ever. Claims still held (``lease_until`` set: an event being processed, or one whose
process died and whose redelivery will take it over) are never forgotten here.

Each batch is one short set-based delete of the oldest done claims; a run stops after
``max_batches`` and leaves the rest to the next run, so a first run over years of rows never
holds the table for long.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol


class DoneClaims(Protocol):
    def delete_done_before(self, cutoff: datetime, limit: int) -> int:
        """Delete up to ``limit`` of the oldest done claims made before ``cutoff``."""
        ...


@dataclass
class ClaimRetention:
    """Deletes done claims older than ``keep`` (FRONTDOOR_CLAIM_RETENTION_DAYS)."""

    claims: DoneClaims
    keep: timedelta
    batch: int = 5000
    max_batches: int = 20

    def run(self, now: datetime) -> int:
        """Delete what is due (bounded); how many claims were deleted."""
        cutoff = now - self.keep
        deleted = 0
        for _ in range(self.max_batches):
            done = self.claims.delete_done_before(cutoff, self.batch)
            deleted += done
            if done < self.batch:
                break
        return deleted
