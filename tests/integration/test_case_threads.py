"""Where a case is shown to agents: one thread record per case and platform. A reply in the
thread finds its case by the parent message; a second parent for the same case (a retried
post the platform had taken already) does not move the thread. SQLite and PostgreSQL."""

from __future__ import annotations

from bot.cases import CaseService
from bot.domain import CaseThread
from storage.uow import SqlUnitOfWorkFactory
from tests.integration.case_rules_support import make_seller


def _two_cases(service: CaseService) -> tuple[int, int]:
    ident, seller = make_seller(service, "42")
    first = service.open_case(seller.id, "order", "late", order_id="123-1234567-1234567",
                              identity_id=ident.id).case
    second = service.open_case(seller.id, "shipping", "lost", order_id="123-7654321-1234567",
                               identity_id=ident.id).case
    return first.id, second.id


def test_a_thread_is_recorded_once_per_case_and_platform_and_finds_its_case(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory) -> None:
    first, second = _two_cases(service)
    with uow_factory() as uow:
        assert uow.threads.add(first, "slack", "C1", "100.1") is True
        assert uow.threads.add(first, "slack", "C2", "200.2") is False  # the first one stays
        assert uow.threads.add(second, "slack", "C1", "100.2") is True
        uow.commit()

    with uow_factory(read_only=True) as uow:
        assert uow.threads.get(first, "slack") == CaseThread(first, "slack", "C1", "100.1")
        assert uow.threads.get(first, "web") is None  # not shown on another platform
        found = uow.threads.find_case("slack", "C1", "100.2")
        assert found is not None and found.id == second
        assert uow.threads.find_case("slack", "C2", "200.2") is None
        assert uow.threads.find_case("other", "C1", "100.1") is None


def test_a_moved_parent_is_forgotten_and_the_next_one_recorded(
        service: CaseService, uow_factory: SqlUnitOfWorkFactory) -> None:
    first, _second = _two_cases(service)
    with uow_factory() as uow:  # as bot.delivery_outcomes does after posting the parent
        assert uow.threads.add(first, "slack", "C1", "100.1") is True
        uow.commit()
    with uow_factory() as uow:  # the parent moves (relay.move_parent): the next one counts
        assert uow.threads.remove(first, "slack") is True
        assert uow.threads.remove(first, "slack") is False
        assert uow.threads.add(first, "slack", "C9", "900.9") is True
        uow.commit()

    with uow_factory(read_only=True) as uow:
        assert uow.threads.get(first, "slack") == CaseThread(first, "slack", "C9", "900.9")
        assert uow.threads.for_cases([first, _second], "slack") == {
            first: CaseThread(first, "slack", "C9", "900.9")}
