"""Migration 0017: the first-response flags get their full names and keep their values, and
back. On SQLite and on a fresh PostgreSQL database."""

from __future__ import annotations

from alembic import command

from storage.migrate import alembic_config, upgrade
from tests.integration import migration_helpers
from tests.integration.migration_helpers import NOW, rows, run

empty_url = migration_helpers.empty_url


def test_the_first_response_flags_keep_their_values_under_their_new_names(
        empty_url: str) -> None:
    upgrade(empty_url, "0016")
    run(empty_url, "INSERT INTO merchants (id, name, created_at) VALUES (1, 'Acme', :now)", now=NOW)
    run(empty_url, "INSERT INTO sellers (id, merchant_id, display_name, is_main, created_at) "
                    "VALUES (1, 1, 'Acme', true, :now)", now=NOW)
    run(empty_url, "INSERT INTO cases (id, number, seller_id, case_type, order_key, title, "
                    "status, created_at, updated_at, status_changed_at, fr_warning_sent, "
                    "fr_breach_sent) VALUES (1, 'CX-000001', 1, 'order', 'O1', 'Orders', 'open', "
                    ":now, :now, :now, true, false)", now=NOW)

    upgrade(empty_url, "0017")
    assert rows(empty_url, "SELECT id, first_response_warning_sent, first_response_breach_sent "
                            "FROM cases") == [(1, True, False)]

    command.downgrade(alembic_config(empty_url), "0016")
    assert rows(empty_url, "SELECT id, fr_warning_sent, fr_breach_sent FROM cases") == [
        (1, True, False)]
