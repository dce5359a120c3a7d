"""Migration 0021: replies the agent deleted before they reached the seller, recorded as dead
letters by earlier versions (their reason "deleted by the agent"), become withdrawn and can no
longer be requeued; items an operator requeued before are remembered as tried (a Slack item is
looked for before it is posted again). And back. On SQLite and on a fresh PostgreSQL
database."""

from __future__ import annotations

from alembic import command

from storage.migrate import alembic_config, upgrade
from tests.integration import migration_helpers
from tests.integration.migration_helpers import NOW, rows, run

empty_url = migration_helpers.empty_url

_ITEMS = [  # id, status, attempts, last_error
    (1, "dead", 3, "deleted by the agent"),  # withdrawn while queued
    (2, "pending", 0, "deleted by the agent"),  # withdrawn, then requeued: not sent yet
    (3, "dead", 8, "timeout"),  # an outage's dead letter
    (4, "pending", 0, "timeout"),  # requeued after an outage: tried before
    (5, "pending", 0, None),  # fresh
    (6, "sent", 1, None),
]


def test_withdrawn_replies_are_recognised_by_their_reason_and_requeued_items_as_tried(
        empty_url: str) -> None:
    upgrade(empty_url, "0020")
    for item_id, status, attempts, error in _ITEMS:
        run(empty_url, "INSERT INTO outbox (id, destination, kind, payload, ordering_key, "
                        "status, attempts, next_attempt_at, created_at, last_error) VALUES "
                        "(:id, 'telegram', 'seller.message', '{}', 'telegram:42', :status, "
                        ":attempts, :now, :now, :error)",
            id=item_id, status=status, attempts=attempts, error=error, now=NOW)

    upgrade(empty_url, "0021")
    assert rows(empty_url, "SELECT id, status, attempts, attempts_before_retry FROM outbox "
                            "ORDER BY id") == [
        (1, "withdrawn", 3, 0), (2, "withdrawn", 0, 0), (3, "dead", 8, 0),
        (4, "pending", 0, 1), (5, "pending", 0, 0), (6, "sent", 1, 0)]

    command.downgrade(alembic_config(empty_url), "0020")
    assert rows(empty_url, "SELECT id, status FROM outbox ORDER BY id") == [
        (1, "dead"), (2, "dead"), (3, "dead"), (4, "pending"), (5, "pending"), (6, "sent")]
