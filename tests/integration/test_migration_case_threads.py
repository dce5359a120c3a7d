"""Migrations 0014 and 0016: where a case is shown to agents becomes a record per case and
platform, and the cases' own Slack columns go. Cases already posted to Slack keep their
thread; cases not posted yet get none; going back restores the columns. On SQLite and on a
fresh PostgreSQL database."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, text

from storage.migrate import alembic_config, upgrade
from tests.integration import migration_helpers
from tests.integration.migration_helpers import NOW, rows, run

empty_url = migration_helpers.empty_url


def _seed_two_cases(url: str) -> None:
    """A seller with two cases: one posted to Slack (its thread known), one not yet."""
    run(url, "INSERT INTO merchants (id, name, created_at) VALUES (1, 'Acme', :now)", now=NOW)
    run(url, "INSERT INTO sellers (id, merchant_id, display_name, is_main, created_at) "
              "VALUES (1, 1, 'Acme', true, :now)", now=NOW)
    for case_id in (1, 2):
        run(url, "INSERT INTO cases (id, number, seller_id, case_type, order_key, title, "
                  "status, created_at, updated_at, status_changed_at) VALUES (:id, :number, 1, "
                  "'order', :number, 'Orders', 'new', :now, :now, :now)",
             id=case_id, number=f"CX-{case_id:06d}", now=NOW)
    run(url, "UPDATE cases SET slack_channel = 'C0SUPPORT', slack_ts = '1700000000.000100' "
              "WHERE id = 1")


def test_a_posted_case_keeps_its_slack_thread_and_an_unposted_one_gets_none(
        empty_url: str) -> None:
    upgrade(empty_url, "0013")
    _seed_two_cases(empty_url)

    upgrade(empty_url, "0014")

    assert rows(empty_url, "SELECT case_id, platform, channel, parent_message_id "
                            "FROM case_threads ORDER BY case_id") == [
        (1, "slack", "C0SUPPORT", "1700000000.000100")]
    command.downgrade(alembic_config(empty_url), "0013")
    assert rows(empty_url, "SELECT id, slack_channel, slack_ts FROM cases ORDER BY id") == [
        (1, "C0SUPPORT", "1700000000.000100"), (2, None, None)]


def test_the_cases_slack_columns_go_and_come_back_from_the_record(empty_url: str) -> None:
    upgrade(empty_url, "0013")
    _seed_two_cases(empty_url)
    upgrade(empty_url, "0016")
    run(empty_url, "INSERT INTO case_threads (case_id, platform, channel, parent_message_id) "
                    "VALUES (2, 'slack', 'C0PAY', '1700000000.000200')")

    engine = create_engine(empty_url)
    try:
        with engine.connect() as conn:
            columns = set(conn.execute(text("SELECT * FROM cases")).keys())
    finally:
        engine.dispose()
    assert not {"slack_channel", "slack_ts"} & columns

    command.downgrade(alembic_config(empty_url), "0015")
    assert rows(empty_url, "SELECT id, slack_channel, slack_ts FROM cases ORDER BY id") == [
        (1, "C0SUPPORT", "1700000000.000100"), (2, "C0PAY", "1700000000.000200")]
