"""Migration 0005 (issue 11): evaluations get a reason code. Ratings stored before it keep
their words, filed as "other"; going back keeps a chosen reason as words. On SQLite and on a
fresh PostgreSQL database."""

from __future__ import annotations

from alembic import command

from storage.migrate import alembic_config, upgrade
from tests.integration import migration_helpers
from tests.integration.migration_helpers import NOW, rows, run

empty_url = migration_helpers.empty_url


def _seed_two_ratings(url: str) -> None:
    """A seller with two resolved cases: one rated with words, one with a Like."""
    run(url, "INSERT INTO merchants (id, name, created_at) VALUES (1, 'Acme', :now)", now=NOW)
    run(url, "INSERT INTO sellers (id, merchant_id, display_name, is_main, created_at) "
              "VALUES (1, 1, 'Acme', true, :now)", now=NOW)
    for case_id in (1, 2):
        run(url, "INSERT INTO cases (id, number, seller_id, case_type, order_key, title, "
                  "status, created_at, updated_at, status_changed_at) VALUES (:id, :number, 1, "
                  "'order', :number, 'Orders', 'resolved', :now, :now, :now)",
             id=case_id, number=f"CX-{case_id:06d}", now=NOW)
    run(url, "INSERT INTO evaluations (case_id, level, reason, created_at) "
              "VALUES (1, 'so_so', 'took four days to answer', :now)", now=NOW)
    run(url, "INSERT INTO evaluations (case_id, level, reason, created_at) "
              "VALUES (2, 'like', NULL, :now)", now=NOW)


def test_old_ratings_keep_their_words_as_other_and_back(empty_url: str) -> None:
    upgrade(empty_url, "0004")
    _seed_two_ratings(empty_url)

    upgrade(empty_url, "0005")
    query = "SELECT case_id, level, reason_code, reason FROM evaluations ORDER BY case_id"
    assert rows(empty_url, query) == [
        (1, "so_so", "other", "took four days to answer"),
        (2, "like", None, None),
    ]

    # A reason chosen by button (no words) survives a downgrade as words.
    run(empty_url, "UPDATE evaluations SET level = 'so_so', reason_code = 'slow_reply' "
                    "WHERE case_id = 2")
    command.downgrade(alembic_config(empty_url), "0004")
    assert rows(empty_url, "SELECT case_id, reason FROM evaluations ORDER BY case_id") == [
        (1, "took four days to answer"), (2, "slow_reply")]
