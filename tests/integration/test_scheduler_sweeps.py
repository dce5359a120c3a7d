"""The scheduler's sweeps (issue 6) on SQLite and PostgreSQL, driven by a ManualClock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot import i18n
from bot import outbox as ob
from bot.cases import CaseRules, CaseService
from bot.clock import ManualClock
from bot.domain import Case
from bot.errors import EvaluationRefused
from bot.relay import Relay, RelayConfig
from bot.sweeps import SchedulerConfig, Sweeper
from storage.models import CaseEventRow, CaseRow, OutboxRow
from storage.sweeps import SqlSweepStore
from storage.uow import SqlUnitOfWorkFactory
from tests.integration.test_case_rules import make_seller, outbox


def new_sweeper(service: CaseService, **config: Any) -> Sweeper:
    return Sweeper(service, SqlSweepStore(), SchedulerConfig(**config))


@pytest.fixture
def sweeper(service: CaseService) -> Sweeper:
    return new_sweeper(service)


def open_case(service: CaseService, user: str = "1", case_type: str = "payment",
              urgent: bool = False) -> tuple[int, Case]:
    ident, seller = make_seller(service, user, f"Seller {user}")
    case = service.open_case(seller.id, case_type, "payout missing", identity_id=ident.id,
                             urgent=urgent).case
    return seller.id, case


def events(uow_factory: SqlUnitOfWorkFactory, case_id: int, kind: str | None = None
           ) -> list[CaseEventRow]:
    with uow_factory() as uow:
        stmt = select(CaseEventRow).where(CaseEventRow.case_id == case_id).order_by(CaseEventRow.id)
        if kind:
            stmt = stmt.where(CaseEventRow.kind == kind)
        rows = list(uow.session.scalars(stmt))
        uow.session.expunge_all()
        return rows


def seller_texts(uow_factory: SqlUnitOfWorkFactory) -> list[dict[str, Any]]:
    return [r.payload["reply"] for r in outbox(uow_factory, ob.SELLER_MESSAGE)]


def reminders(uow_factory: SqlUnitOfWorkFactory) -> list[dict[str, Any]]:
    return [r for r in seller_texts(uow_factory) if r["text"].startswith("⏰")]


def thread_texts(uow_factory: SqlUnitOfWorkFactory) -> list[str]:
    return [r.payload["text"] for r in outbox(uow_factory, ob.THREAD_POST)]


def channel_posts(uow_factory: SqlUnitOfWorkFactory) -> list[dict[str, Any]]:
    return [r.payload for r in outbox(uow_factory, ob.CHANNEL_POST)]


def set_case(uow_factory: SqlUnitOfWorkFactory, case_id: int, **values: Any) -> None:
    with uow_factory() as uow:
        uow.session.execute(update(CaseRow).where(CaseRow.id == case_id).values(**values))
        uow.commit()


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
    clock.set(kept.auto_close_at)  # type: ignore[arg-type]
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


# First response (rule 11) --------------------------------------------------------------------------
def test_first_response_warning_at_75_percent_then_breach(
        service: CaseService, sweeper: Sweeper, clock: ManualClock,
        uow_factory: SqlUnitOfWorkFactory) -> None:
    _, case = open_case(service)
    start = clock.now()
    clock.set(start + timedelta(hours=17, minutes=59))
    assert sweeper.first_response() == 0
    clock.set(start + timedelta(hours=18))
    assert sweeper.first_response() == 1
    assert sweeper.first_response() == 0
    assert thread_texts(uow_factory)[-1].startswith("⏳ First response due")
    [warning] = channel_posts(uow_factory)
    assert warning["channel"] == "C_SUPPORT" and case.number in warning["text"]
    assert "6 h left" in warning["text"]

    clock.set(start + timedelta(hours=24))
    assert sweeper.first_response() == 1
    assert sweeper.first_response() == 0
    assert thread_texts(uow_factory)[-1].startswith("🚨 First-response target missed")
    assert "target missed" in channel_posts(uow_factory)[-1]["text"]
    assert [e.kind for e in events(uow_factory, case.id)
            if e.kind.startswith("first_response")] == ["first_response_warning",
                                                         "first_response_breach"]


def test_urgent_case_is_warned_after_3h_and_breached_at_4h(
        service: CaseService, sweeper: Sweeper, clock: ManualClock) -> None:
    open_case(service, urgent=True)
    start = clock.now()
    clock.set(start + timedelta(hours=2, minutes=59))
    assert sweeper.first_response() == 0
    clock.set(start + timedelta(hours=3))
    assert sweeper.first_response() == 1
    clock.set(start + timedelta(hours=4))
    assert sweeper.first_response() == 1


def test_flagging_urgent_later_tightens_the_warning(
        service: CaseService, sweeper: Sweeper, clock: ManualClock) -> None:
    seller_id, case = open_case(service)
    start = clock.now()
    clock.set(start + timedelta(hours=1))
    service.set_urgent(case.number, True, "seller", str(seller_id), seller_id=seller_id)
    clock.set(start + timedelta(hours=4))  # due at 5 h now, warned 1 h before
    assert sweeper.first_response() == 1


def test_an_agent_reply_stops_the_first_response_alerts(
        service: CaseService, sweeper: Sweeper, clock: ManualClock,
        uow_factory: SqlUnitOfWorkFactory) -> None:
    _, case = open_case(service)
    clock.advance(hours=10)
    service.agent_reply(case.number, "U1", "Looking into it", "Ann")
    clock.advance(hours=20)
    assert sweeper.first_response() == 0
    assert channel_posts(uow_factory) == []


def test_a_breach_found_late_sends_no_warning(
        service: CaseService, sweeper: Sweeper, clock: ManualClock,
        uow_factory: SqlUnitOfWorkFactory) -> None:
    _, case = open_case(service)
    clock.advance(hours=30)
    assert sweeper.first_response() == 1
    assert [e.kind for e in events(uow_factory, case.id)
            if e.kind.startswith("first_response")] == ["first_response_breach"]


def test_first_response_clock_pauses_while_pending(
        service: CaseService, sweeper: Sweeper, clock: ManualClock,
        uow_factory: SqlUnitOfWorkFactory) -> None:
    seller_id, case = open_case(service)
    start = clock.now()
    clock.set(start + timedelta(hours=2))
    service.change_status(case.number, "pending")  # waiting for the seller from 2 h...
    clock.set(start + timedelta(hours=20))
    assert sweeper.first_response() == 0  # past the 18 h warning time, but paused
    clock.set(start + timedelta(hours=22))
    service.add_seller_message(seller_id, case.number, "here you go")  # ...to 22 h
    due = service.get_case(case.number).case.first_response_due_at
    assert due == start + timedelta(hours=24 + 20)
    clock.set(start + timedelta(hours=37, minutes=59))
    assert sweeper.first_response() == 0
    clock.set(start + timedelta(hours=38))
    assert sweeper.first_response() == 1
    clock.set(start + timedelta(hours=44))
    assert sweeper.first_response() == 1
    kinds = [e.kind for e in events(uow_factory, case.id) if e.kind.startswith("first_response")]
    assert kinds == ["first_response_warning", "first_response_breach"]


def test_channel_post_links_the_thread_once_the_parent_is_posted(
        service: CaseService, sweeper: Sweeper, clock: ManualClock,
        uow_factory: SqlUnitOfWorkFactory) -> None:
    _, case = open_case(service)
    with uow_factory() as uow:  # its parent was posted in the payments channel
        uow.threads.add(case.id, "slack", "C_PAY", "1700000000.000100")
        uow.commit()
    clock.advance(hours=24)
    sweeper.first_response()
    [post] = channel_posts(uow_factory)
    assert post["channel"] == "C_PAY"
    assert f"<https://slack.com/archives/C_PAY/p1700000000000100|{case.number}>" in post["text"]


# Evaluation window (rule 6) and resolved auto-close ---------------------------------------------
def test_resolved_case_closes_after_the_configured_time_and_buttons_expire(
        service: CaseService, sweeper: Sweeper, clock: ManualClock,
        uow_factory: SqlUnitOfWorkFactory) -> None:
    seller_id, case = open_case(service)
    service.agent_reply(case.number, "U1", "Refunded", "Ann")
    service.change_status(case.number, "resolved")
    start = clock.now()
    # The rating prompt was delivered: the platform gave it message id 555.
    with uow_factory() as uow:
        [prompt] = [r for r in uow.session.scalars(select(OutboxRow)) if r.kind == ob.SELLER_MESSAGE
                    and r.payload["reply"]["buttons"]]
        prompt.status, prompt.platform_message_id = "sent", "555"
        uow.commit()

    clock.set(start + timedelta(days=4) - timedelta(seconds=1))
    assert sweeper.run_sweeps()["evaluation"] == 0
    clock.set(start + timedelta(days=4, seconds=1))
    assert sweeper.run_sweeps()["evaluation"] == 1
    assert sweeper.expire_evaluations() == 0
    [edit] = outbox(uow_factory, ob.SELLER_EDIT)
    assert edit.payload["platform_message_id"] == "555"
    assert "Rating closed" in edit.payload["text"]
    assert len(events(uow_factory, case.id, "evaluation_expired")) == 1
    with pytest.raises(EvaluationRefused):
        service.evaluate(seller_id, case.number, "like")

    clock.set(start + timedelta(days=7) - timedelta(seconds=1))
    assert sweeper.auto_close() == 0
    clock.set(start + timedelta(days=7))
    assert sweeper.auto_close() == 1
    detail = service.get_case(case.number)
    assert detail.case.status == "closed"
    [status] = [e for e in detail.events if e.to_value == "closed"]
    assert status.reason == "resolved 7 days ago with no reply from the seller"
    assert seller_texts(uow_factory)[-1]["text"].startswith(f"📁 {case.number} is closed")


def test_rated_case_has_no_expiry_and_still_closes(
        service: CaseService, sweeper: Sweeper, clock: ManualClock,
        uow_factory: SqlUnitOfWorkFactory) -> None:
    seller_id, case = open_case(service)
    service.change_status(case.number, "resolved")
    service.evaluate(seller_id, case.number, "like")
    clock.advance(days=8)
    assert sweeper.run_sweeps() == {"auto_close": 1, "reminders": 0, "first_response": 0,
                                    "evaluation": 0}
    assert events(uow_factory, case.id, "evaluation_expired") == []


def test_resolved_auto_close_time_is_configurable(
        uow_factory: SqlUnitOfWorkFactory, relay: Relay, clock: ManualClock) -> None:
    config = SchedulerConfig(resolved_auto_close_days=2)
    service = CaseService(uow_factory, relay, config.case_rules(CaseRules()), clock)
    sweeper = Sweeper(service, SqlSweepStore(), config)
    _, case = open_case(service)
    service.change_status(case.number, "resolved")
    clock.advance(days=2)
    assert sweeper.auto_close() == 1
    # Closed before the window ended: the expiry sweep has nothing left to do.
    clock.advance(days=3)
    assert sweeper.expire_evaluations() == 0


def test_a_seller_reply_to_a_resolved_case_cancels_its_auto_close(
        service: CaseService, sweeper: Sweeper, clock: ManualClock) -> None:
    seller_id, case = open_case(service)
    service.change_status(case.number, "resolved")
    clock.advance(days=1)
    service.add_seller_message(seller_id, case.number, "still not paid")
    clock.advance(days=10)
    assert sweeper.auto_close() == 0
    assert sweeper.expire_evaluations() == 0
    assert service.get_case(case.number).case.status == "investigating"


def test_re_resolved_case_gets_a_new_expiry(
        service: CaseService, sweeper: Sweeper, clock: ManualClock,
        uow_factory: SqlUnitOfWorkFactory) -> None:
    seller_id, case = open_case(service)
    service.change_status(case.number, "resolved")
    clock.advance(days=5)
    assert sweeper.expire_evaluations() == 1
    service.add_seller_message(seller_id, case.number, "still broken")
    service.change_status(case.number, "resolved")
    clock.advance(days=5)
    assert sweeper.expire_evaluations() == 1
    assert len(events(uow_factory, case.id, "evaluation_expired")) == 2


# Failures ------------------------------------------------------------------------------------------
def test_a_failing_case_is_skipped_and_retried_and_loses_nothing(
        service: CaseService, sweeper: Sweeper, clock: ManualClock,
        uow_factory: SqlUnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    cases = [open_case(service, str(i))[1] for i in range(5)]
    for case in cases:
        service.change_status(case.number, "pending")
    clock.advance(hours=24)
    real = service.relay.to_seller
    bad = cases[2].id

    def flaky(uow: Any, case: Case, *args: Any, **kwargs: Any) -> int | None:
        if case.id == bad:
            raise RuntimeError("platform bug")
        return real(uow, case, *args, **kwargs)

    monkeypatch.setattr(service.relay, "to_seller", flaky)
    assert sweeper.remind_pending() == 4
    assert events(uow_factory, bad, "reminder") == []  # its claim was rolled back
    monkeypatch.setattr(service.relay, "to_seller", real)
    assert sweeper.remind_pending() == 1
    assert len(reminders(uow_factory)) == 5
    assert all(len(events(uow_factory, c.id, "reminder")) == 1 for c in cases)


def test_sweeps_work_in_batches(
        service: CaseService, clock: ManualClock, uow_factory: SqlUnitOfWorkFactory) -> None:
    sweeper = new_sweeper(service, batch_size=3)
    cases = [open_case(service, str(i))[1] for i in range(8)]
    for case in cases:
        service.change_status(case.number, "pending")
    clock.advance(days=8)
    assert sweeper.auto_close() == 8
    assert {service.get_case(c.number).case.status for c in cases} == {"closed"}


def test_job_runs_are_recorded(service: CaseService, sweeper: Sweeper,
                               clock: ManualClock, uow_factory: SqlUnitOfWorkFactory) -> None:
    sweeper.run_sweeps()
    with uow_factory() as uow:
        runs = SqlSweepStore().job_runs(uow)
    assert set(runs) == {"sweep.auto_close", "sweep.reminders", "sweep.first_response",
                         "sweep.evaluation"}
    assert all(r["last_run_at"] == clock.now() for r in runs.values())
    assert datetime(2026, 1, 5, 9, 0, tzinfo=UTC) == clock.now()
