"""The scheduler's first-response alerts (rule 11, issue 6): the warning at 75 %, the breach, and
the channel post, on SQLite and PostgreSQL, driven by a ManualClock."""

from __future__ import annotations

from datetime import timedelta

from bot.cases import CaseService
from bot.clock import ManualClock
from bot.sweeps import Sweeper
from storage.uow import SqlUnitOfWorkFactory
from tests.integration import sweep_support
from tests.integration.sweep_support import channel_posts, events, open_case, thread_texts

# The sweeper over the test's service, shared by the sweep tests.
sweeper = sweep_support.sweeper


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
