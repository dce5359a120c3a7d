"""A reply the agent deleted before it reached the seller is withdrawn for good: whether it was
still queued or already dead-lettered by an outage, the operator's `frontdoor outbox retry`
(which docs/deploy.md advises after an outage) never sends it. On SQLite and PostgreSQL, with
the dispatcher and scripted senders of test_outbox_dispatch."""

from __future__ import annotations

from collections import deque

import pytest
from typer.testing import CliRunner

from bot import outbox as ob
from bot.cases import CaseService
from bot.clock import ManualClock
from bot.outbox import DeliveryResult
from frontdoor.cli import app
from storage.database import Database
from storage.models import OutboxRow
from storage.outbox_queue import SqlOutboxQueue
from storage.uow import SqlUnitOfWorkFactory
from tests.integration.case_rules_support import make_seller, outbox
from tests.integration.test_outbox_dispatch import ScriptedSender, dispatcher

AGENT = "U1"
WRONG = "Your refund is 12 EUR"  # meant for another seller: the agent deletes it
runner = CliRunner()


def reply_row(uow_factory: SqlUnitOfWorkFactory, text: str) -> OutboxRow:
    [row] = [r for r in outbox(uow_factory, ob.SELLER_MESSAGE) if text in str(r.payload)]
    return row


def sent_texts(sender: ScriptedSender) -> list[str]:
    return [str(i.payload) for i in sender.seen if i.kind == ob.SELLER_MESSAGE]


async def test_a_reply_dead_lettered_in_an_outage_and_then_deleted_is_not_sent_by_a_retry(
        db: Database, service: CaseService, uow_factory: SqlUnitOfWorkFactory,
        clock: ManualClock) -> None:
    ident, seller = make_seller(service, "42")
    case = service.open_case(seller.id, "payment", "payout missing", identity_id=ident.id).case
    _, reply = service.agent_reply(case.number, AGENT, WRONG, agent_name="Ann")
    outage = ScriptedSender(ob.TELEGRAM, deque([DeliveryResult(ok=False, error="503")] * 3))
    during = dispatcher(db, clock, outage, ScriptedSender(ob.SLACK), max_attempts=3)
    while during.dead == 0:
        await during.run_once()
        clock.advance(seconds=600)

    assert service.agent_delete(reply.id, AGENT) is not None
    row = reply_row(uow_factory, WRONG)
    assert (row.status, row.last_error) == ("withdrawn", "deleted by the agent")

    # After the outage the operator requeues what is dead: the deleted reply is not among it.
    queue = SqlOutboxQueue(db)
    assert row.id not in [dead["id"] for dead in queue.dead_letters()]
    assert not queue.retry_dead(row.id, clock.now())
    telegram = ScriptedSender(ob.TELEGRAM)
    await dispatcher(db, clock, telegram, ScriptedSender(ob.SLACK)).run_once()
    assert not any(WRONG in text for text in sent_texts(telegram))
    assert reply_row(uow_factory, WRONG).status == "withdrawn"


async def test_a_queued_reply_the_agent_deleted_is_not_listed_as_dead_nor_sent_by_a_retry(
        db: Database, service: CaseService, uow_factory: SqlUnitOfWorkFactory,
        clock: ManualClock) -> None:
    ident, seller = make_seller(service, "43")
    case = service.open_case(seller.id, "payment", "payout missing", identity_id=ident.id).case
    _, reply = service.agent_reply(case.number, AGENT, WRONG, agent_name="Ann")
    service.agent_reply(case.number, AGENT, "Sorry, checking your payout now", agent_name="Ann")

    assert service.agent_delete(reply.id, AGENT) is not None

    queue = SqlOutboxQueue(db)
    row = reply_row(uow_factory, WRONG)
    assert row.status == "withdrawn"
    assert queue.dead_letters() == []
    assert queue.counts().get("dead", 0) == 0
    assert not queue.retry_dead(row.id, clock.now())
    assert queue.retry_refusal(row.id) == (
        f"item {row.id} was withdrawn (deleted by the agent): it must not be sent")
    telegram = ScriptedSender(ob.TELEGRAM)
    await dispatcher(db, clock, telegram, ScriptedSender(ob.SLACK)).run_once()
    assert sent_texts(telegram) and not any(WRONG in text for text in sent_texts(telegram))


def test_the_operator_retrying_a_withdrawn_reply_is_refused_with_exit_2(
        db: Database, service: CaseService, uow_factory: SqlUnitOfWorkFactory,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDOOR_DATABASE_URL", db.url)
    ident, seller = make_seller(service, "44")
    case = service.open_case(seller.id, "payment", "payout missing", identity_id=ident.id).case
    _, reply = service.agent_reply(case.number, AGENT, WRONG, agent_name="Ann")
    assert service.agent_delete(reply.id, AGENT) is not None
    row = reply_row(uow_factory, WRONG)

    listed = runner.invoke(app, ["outbox", "dead"])
    assert listed.exit_code == 0 and f"#{row.id} " not in listed.output
    retried = runner.invoke(app, ["outbox", "retry", str(row.id)])
    assert retried.exit_code == 2
    assert f"item {row.id} was withdrawn (deleted by the agent)" in retried.output
    counted = runner.invoke(app, ["outbox", "status"])
    assert "withdrawn: 1" in counted.output.splitlines()
    assert reply_row(uow_factory, WRONG).status == "withdrawn"
