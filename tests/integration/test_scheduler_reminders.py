"""The scheduler's reminders to the seller and the auto-close of pending cases (issue 6), on
SQLite and PostgreSQL, driven by a ManualClock."""

from __future__ import annotations

from datetime import timedelta

from bot import i18n
from bot.cases import CaseRules, CaseService
from bot.clock import ManualClock
from bot.relay import Relay, RelayConfig
from bot.sweeps import Sweeper
from storage.uow import SqlUnitOfWorkFactory
from tests.integration import sweep_support
from tests.integration.sweep_support import (
    channel_posts,
    events,
    new_sweeper,
    open_case,
    reminders,
    seller_texts,
    thread_texts,
)

# The sweeper over the test's service, shared by the sweep tests.
sweeper = sweep_support.sweeper


# Seller reminders and auto-close ----------------------------------------------------------------
def test_pending_case_gets_reminders_at_24h_and_72h_with_buttons(
        service: CaseService, sweeper: Sweeper, clock: ManualClock,
        uow_factory: SqlUnitOfWorkFactory) -> None:
    _, case = open_case(service)
    service.change_status(case.number, "pending", actor_ref="agent1")
    start = clock.now()

    clock.set(start + timedelta(hours=23, minutes=59))
    assert sweeper.remind_pending() == 0
    clock.set(start + timedelta(hours=24))
    assert sweeper.remind_pending() == 1
    assert sweeper.remind_pending() == 0  # claimed: never twice

    [first] = reminders(uow_factory)
    assert [b["payload"] for b in first["buttons"]] == [f"reply:{case.number}",
                                                       f"keep_open:{case.number}"]
    assert first["case_number"] == case.number
    assert "closed on" in first["text"]
    assert any(t.startswith("⏰ Reminder 1 sent") for t in thread_texts(uow_factory))

    clock.set(start + timedelta(hours=71))
    assert sweeper.remind_pending() == 0
    clock.set(start + timedelta(hours=72))
    assert sweeper.remind_pending() == 1
    clock.advance(hours=24)
    assert sweeper.remind_pending() == 0
    assert len(reminders(uow_factory)) == 2
    assert [e.to_value for e in events(uow_factory, case.id, "reminder")] == ["1", "2"]
    assert all(e.actor_kind == "system" for e in events(uow_factory, case.id, "reminder"))
    assert any(t.startswith("⏰ Reminder 2 sent") for t in thread_texts(uow_factory))


def test_late_sweep_sends_one_reminder_not_a_burst(
        service: CaseService, sweeper: Sweeper, clock: ManualClock,
        uow_factory: SqlUnitOfWorkFactory) -> None:
    _, case = open_case(service)
    service.change_status(case.number, "pending")
    clock.advance(hours=80)  # the scheduler was down through both reminder times
    assert sweeper.remind_pending() == 1
    assert [e.to_value for e in events(uow_factory, case.id, "reminder")] == ["2"]


def test_pending_case_auto_closes_after_7_days(
        service: CaseService, sweeper: Sweeper, clock: ManualClock,
        uow_factory: SqlUnitOfWorkFactory) -> None:
    _, case = open_case(service)
    service.change_status(case.number, "pending")
    start = clock.now()
    clock.set(start + timedelta(days=7) - timedelta(seconds=1))
    assert sweeper.auto_close() == 0
    clock.set(start + timedelta(days=7))
    # Everything due at once: the case closes, and gets no reminder on its way out.
    assert sweeper.run_sweeps() == {"auto_close": 1, "reminders": 0, "first_response": 0,
                                    "evaluation": 0}
    closed = service.get_case(case.number).case
    assert closed.status == "closed" and closed.closed_at == clock.now()
    [status] = [e for e in events(uow_factory, case.id, "status") if e.to_value == "closed"]
    assert (status.actor_kind, status.actor_ref) == ("system", "scheduler")
    assert status.reason == "no answer from the seller for 7 days"
    closed = seller_texts(uow_factory)[-1]["text"]
    assert closed.startswith(f"📁 {case.number} was closed because")
    assert closed.endswith("You can reopen it within 30 days.")  # FRONTDOOR_REOPEN_DAYS
    assert "Closed by scheduler (no answer from the seller for 7 days)" in thread_texts(uow_factory)[-1]
    assert reminders(uow_factory) == []
    assert sweeper.auto_close() == 0


def test_keep_open_moves_the_auto_close_and_drops_the_button_at_the_limit(
        service: CaseService, sweeper: Sweeper, clock: ManualClock, rules: CaseRules,
        uow_factory: SqlUnitOfWorkFactory) -> None:
    seller_id, case = open_case(service)
    service.change_status(case.number, "pending")
    start = clock.now()
    clock.set(start + timedelta(hours=2))
    for _ in range(rules.keep_open_max):
        kept = service.keep_open(seller_id, case.number)
    assert kept.auto_close_at == start + timedelta(days=7 + 7 * rules.keep_open_max)

    clock.set(start + timedelta(hours=24))
    assert sweeper.remind_pending() == 1
    [reminder] = reminders(uow_factory)
    # The seller cannot ask for more time again: only "reply now" is offered.
    assert [b["payload"] for b in reminder["buttons"]] == [f"reply:{case.number}"]

    clock.set(start + timedelta(days=8))
    assert sweeper.auto_close() == 0
    assert service.get_case(case.number).case.status == "pending"
    clock.set(kept.auto_close_at)
    assert sweeper.auto_close() == 1
    assert service.get_case(case.number).case.status == "closed"


def test_keep_open_after_a_reminder_pushes_the_deadline_the_reminder_named(
        service: CaseService, sweeper: Sweeper, clock: ManualClock,
        uow_factory: SqlUnitOfWorkFactory) -> None:
    seller_id, case = open_case(service)
    service.change_status(case.number, "pending")
    start = clock.now()
    clock.set(start + timedelta(hours=24))
    sweeper.remind_pending()
    clock.set(start + timedelta(hours=30))
    service.keep_open(seller_id, case.number)  # pressed "I need more time"
    clock.set(start + timedelta(hours=72))
    assert sweeper.remind_pending() == 1
    second = reminders(uow_factory)[-1]
    # The seller's date (English, UTC here), as the reminder writes it: "Jan 19, 2026".
    assert i18n.day(start + timedelta(days=14)) in second["text"]
    clock.set(start + timedelta(days=7, hours=1))
    assert sweeper.auto_close() == 0


def test_seller_reply_stops_reminders_and_a_new_pending_starts_over(
        service: CaseService, sweeper: Sweeper, clock: ManualClock,
        uow_factory: SqlUnitOfWorkFactory) -> None:
    seller_id, case = open_case(service)
    service.change_status(case.number, "pending")
    start = clock.now()
    clock.set(start + timedelta(hours=25))
    assert sweeper.remind_pending() == 1
    clock.set(start + timedelta(hours=26))
    service.add_seller_message(seller_id, case.number, "here is the invoice")
    clock.set(start + timedelta(hours=80))
    assert sweeper.remind_pending() == 0
    assert sweeper.auto_close() == 0
    service.change_status(case.number, "pending")  # asked again at 80 h
    clock.set(start + timedelta(hours=80 + 24))
    assert sweeper.remind_pending() == 1
    assert [e.to_value for e in events(uow_factory, case.id, "reminder")] == ["1", "1"]


def test_reminders_reach_the_seller_without_an_agents_platform(
        uow_factory: SqlUnitOfWorkFactory, clock: ManualClock) -> None:
    service = CaseService(uow_factory, Relay(RelayConfig()), CaseRules(), clock)
    sweeper = new_sweeper(service)
    _, case = open_case(service)
    service.change_status(case.number, "pending")
    clock.advance(hours=24)
    assert sweeper.run_sweeps()["reminders"] == 1
    assert len(reminders(uow_factory)) == 1
    assert thread_texts(uow_factory) == [] and channel_posts(uow_factory) == []
