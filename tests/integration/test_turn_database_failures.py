"""The database fails in the middle of a seller's turn and works again a moment later (a
restart or failover ending the connection, SQLite's "database is locked", a COMMIT whose answer
is lost). Telegram must be answered with an error so that it delivers the update again, and the
message must reach its case once, answered as usual, with no "something went wrong"."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from starlette.applications import Starlette
from starlette.routing import Route
from telegram import Bot

from adapters.telegram.inbound import SECRET_HEADER, TelegramInbound
from bot.cases import CaseService
from bot.clock import ManualClock
from bot.relay import Relay
from bot.texts import t
from storage.turn_transaction import SqlTurnTransaction
from storage.uow import SqlUnitOfWorkFactory
from tests.fakes import FakeClassifier
from tests.unit.chat_harness import RULES, Chat, make_engine, register

ORDER = "123-1234567-1234567"
TEXT = f"my order {ORDER} never arrived, the buyer is waiting since Monday"
DETAIL = "the delivery driver says he left it at the door but nothing was there"
SECRET = "s3cret"


class FailsOnce:
    """The flows' units of work; the first one after ``arm`` fails in the way given."""

    def __init__(self, inner: SqlUnitOfWorkFactory) -> None:
        self.inner = inner
        self.how: str | None = None
        self.fired = 0

    def __call__(self, read_only: bool = False) -> Any:
        uow = self.inner(read_only)
        if self.how is None or read_only:
            return uow
        how, self.how = self.how, None
        outer = self

        class Failing:
            def __enter__(self) -> Any:
                opened = uow.__enter__()
                outer.fired += 1
                if how == "terminated":  # what a restart does to a session in a transaction
                    opened.session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
                elif how == "locked":
                    raise OperationalError("UPDATE cases", {}, Exception("database is locked"))
                return opened

            def __exit__(self, *exc: Any) -> None:
                uow.__exit__(*exc)

            def __getattr__(self, name: str) -> Any:
                return getattr(uow, name)

        return Failing()

    def is_outage(self, exc: BaseException) -> bool:
        return self.inner.is_outage(exc)


def _update(update_id: int, words: str) -> dict[str, Any]:
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": 1700000000, "text": words,
        "chat": {"id": 100, "type": "private", "first_name": "Alice"},
        "from": {"id": 100, "is_bot": False, "first_name": "Alice"}}}


async def _seller_with_a_case(service: CaseService, uow_factory: SqlUnitOfWorkFactory,
                              relay: Relay, clock: ManualClock) -> tuple[Chat, Any, FailsOnce]:
    failing = FailsOnce(uow_factory)
    service.uow = failing  # type: ignore[assignment]  # the case rules' units of work
    engine = make_engine(service, uow_factory, relay, clock,
                         classifier=FakeClassifier(dict(RULES), default=None))
    chat = Chat(engine, uow_factory)
    assert chat.user == "100"
    register(service, chat)
    await chat.say(TEXT)
    await chat.press("Open the case")
    chat.expect("CX-000001")
    return chat, engine, failing


async def _post(engine: Any, update: dict[str, Any]) -> httpx.Response:
    inbound = TelegramInbound(Bot("123:abc"), engine.handle, SECRET)
    app = Starlette(routes=[Route("/telegram/webhook", inbound.webhook, methods=["POST"])])
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.post("/telegram/webhook", json=update,
                                 headers={SECRET_HEADER: SECRET})


def _details_in_case(service: CaseService) -> int:
    return [m.text for m in service.get_case("CX-000001").messages].count(DETAIL)


def _told(chat: Chat) -> list[str]:
    return [r.text for r in chat.outbox()]


async def test_a_turn_the_database_failed_is_answered_with_an_error_and_processed_once_redelivered(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
        clock: ManualClock) -> None:
    await _fails_then_redelivered(service, uow_factory, relay, clock, "locked")


@pytest.mark.parametrize("db", ["postgres"], indirect=True)  # SQLite has no server to end it
async def test_a_turn_whose_connection_the_server_ended_is_processed_once_redelivered(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
        clock: ManualClock) -> None:
    await _fails_then_redelivered(service, uow_factory, relay, clock, "terminated")


async def _fails_then_redelivered(service: CaseService, uow_factory: SqlUnitOfWorkFactory,
                                  relay: Relay, clock: ManualClock, how: str) -> None:
    chat, engine, failing = await _seller_with_a_case(service, uow_factory, relay, clock)
    failing.how = how

    first = await _post(engine, _update(5001, DETAIL))

    assert failing.fired == 1
    assert first.status_code >= 500  # Telegram delivers it again
    assert _details_in_case(service) == 0
    assert t("engine.error") not in _told(chat)
    again = await _post(engine, _update(5001, DETAIL))
    assert again.status_code == 200
    assert _details_in_case(service) == 1
    assert any("CX-000001" in said for said in _told(chat)[-1:])
    assert (await _post(engine, _update(5001, DETAIL))).status_code == 200
    assert _details_in_case(service) == 1


async def test_a_commit_whose_answer_was_lost_is_answered_by_the_redelivery_not_repeated(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
        clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    chat, engine, _failing = await _seller_with_a_case(service, uow_factory, relay, clock)
    told_before = len(_told(chat))
    commit = SqlTurnTransaction.commit

    def committed_but_unanswered(whole: SqlTurnTransaction) -> None:
        # The turn's COMMIT reaches the database; its answer is lost on the way back.
        commit(whole)
        monkeypatch.setattr(SqlTurnTransaction, "commit", commit)
        raise OperationalError("COMMIT", {}, ConnectionResetError("connection lost"))

    monkeypatch.setattr(SqlTurnTransaction, "commit", committed_but_unanswered)

    first = await _post(engine, _update(5002, DETAIL))

    assert first.status_code >= 500
    assert _details_in_case(service) == 1  # the commit did reach the database...
    answers = _told(chat)[told_before:]
    assert len(answers) == 1 and "CX-000001" in answers[0]  # ...with the answer
    again = await _post(engine, _update(5002, DETAIL))
    assert again.status_code == 200  # done: dropped, not done twice, not answered twice
    assert _details_in_case(service) == 1
    assert len(_told(chat)[told_before:]) == 1
