"""What the redelivery tests share: a seller's chat on the real engine, and counts read from
the database."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from bot.cases import CaseService
from bot.clock import ManualClock
from bot.relay import Relay
from storage.models import CaseRow, ProcessedEventRow
from storage.uow import SqlUnitOfWorkFactory
from tests.unit.chat_harness import Chat, make_engine, register

ORDER = "123-1234567-1234567"
TEXT = f"my order {ORDER} never arrived, the buyer is waiting since Monday"


def claims_of(uow_factory: SqlUnitOfWorkFactory, event_id: str) -> int:
    with uow_factory() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(ProcessedEventRow)
                                      .where(ProcessedEventRow.event_id == event_id)) or 0)


def case_count(uow_factory: SqlUnitOfWorkFactory) -> int:
    with uow_factory(read_only=True) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(CaseRow)) or 0)


def fails_after_saving(monkeypatch: pytest.MonkeyPatch, service: CaseService, rule: str,
                        why: str) -> None:
    """``service.<rule>`` does its work (committed), then raises as if the attempt died."""
    original = getattr(service, rule)

    def saved_then_failed(*args: Any, **kwargs: Any) -> Any:
        original(*args, **kwargs)
        raise RuntimeError(why)

    monkeypatch.setattr(service, rule, saved_then_failed)


def chat_for(service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
          clock: ManualClock, classifier: Any) -> Chat:
    chat = Chat(make_engine(service, uow_factory, relay, clock, classifier=classifier),
                uow_factory)
    register(service, chat)
    return chat


def break_the_first_reply(relay: Relay, monkeypatch: pytest.MonkeyPatch,
                          error: type[Exception]) -> None:
    """The next reply the engine queues (after the turn's work) fails with ``error``, as when
    the database goes away just then; later ones work."""
    original = relay.to_identity
    calls = {"n": 0}

    def broken_once(*args: Any, **kwargs: Any) -> int | None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise error("the database went away while queueing the reply")
        return original(*args, **kwargs)

    monkeypatch.setattr(relay, "to_identity", broken_once)
