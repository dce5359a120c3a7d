"""Reading cases: details, lists and searches, unread marks."""

from __future__ import annotations

from collections.abc import Sequence

from bot import domain as d
from bot.case_rules.base import STATUS_FILTERS, CaseServiceBase
from bot.case_rules.results import CaseDetail
from bot.domain import Case, CaseSummary
from bot.errors import InvalidInput


def status_unseen(case: Case) -> bool:
    """Whether the case's status changed since its seller last looked at it: with a new agent
    reply, what sets the "Updated" mark. Changes the seller made count as seen (the status
    rules stamp ``seller_seen_at`` for them), and looking clears it (``mark_read``)."""
    return case.status_changed_at > (case.seller_seen_at or case.created_at)


class CaseQueries(CaseServiceBase):
    """Reading cases; nothing here changes one (except marking replies read)."""

    def get_case(self, number: str, seller_id: int | None = None) -> CaseDetail:
        """A case with its history; with ``seller_id`` only that seller's, without notes."""
        with self.uow(read_only=True) as uow:
            case = (self._owned(uow, seller_id, number) if seller_id is not None
                    else self._case(uow, number))
            prev = uow.cases.get(case.reopened_from_id) if case.reopened_from_id else None
            nxt = uow.cases.get(case.reopened_as_id) if case.reopened_as_id else None
            return CaseDetail(
                case=case,
                messages=uow.messages.for_case(case.id, include_internal=seller_id is None),
                events=uow.events.for_case(case.id),
                evaluation=uow.evaluations.get(case.id),
                reopened_from=prev.number if prev else None,
                reopened_as=nxt.number if nxt else None,
                unread=uow.messages.unread_counts([case.id]).get(case.id, 0),
                agents_thread=uow.threads.get(case.id, self.relay.config.agents_destination
                                              or "slack"),
            )

    def find_active_case(self, seller_id: int, case_type: str,
                         order_id: str | None) -> Case | None:
        with self.uow(read_only=True) as uow:
            return uow.cases.find_active(seller_id, case_type, order_id)

    def list_cases(
        self, seller_id: int, status: str = "in_progress", query: str | None = None,
        limit: int = 20,
    ) -> list[CaseSummary]:
        """A seller's cases, newest activity first, with last reply and unread count."""
        if status not in STATUS_FILTERS:
            raise InvalidInput(f"unknown status filter {status!r}; use one of "
                               f"{', '.join(STATUS_FILTERS)}")
        with self.uow(read_only=True) as uow:
            cases = uow.cases.list_for_seller(seller_id, STATUS_FILTERS[status], query, limit)
            unread = uow.messages.unread_counts([c.id for c in cases])
            return [
                CaseSummary(c, uow.messages.last_visible_agent_reply(c.id), unread.get(c.id, 0))
                for c in cases
            ]

    def search_cases(self, status: str = "all", query: str | None = None,
                     limit: int = 50) -> list[Case]:
        """Agents' and operators' view: every seller's cases."""
        if status not in STATUS_FILTERS and status not in d.STATUSES:
            raise InvalidInput(f"unknown status {status!r}")
        statuses: tuple[str, ...] | None = (
            STATUS_FILTERS.get(status, (status,)))
        with self.uow(read_only=True) as uow:
            found = list(uow.cases.list_all(statuses, query, limit))
            if query and query.split():
                # Agents remember what was said ("bank details"), not only titles: cases
                # whose conversation (notes included) has every word are found too.
                known = {c.id for c in found}
                for case_id in uow.messages.cases_mentioning(query.split(), statuses, limit):
                    case = uow.cases.get(case_id) if case_id not in known else None
                    if case is not None:
                        found.append(case)
                found.sort(key=lambda c: (c.updated_at, c.id), reverse=True)
            return found[:limit]

    def mark_read(self, seller_id: int, numbers: Sequence[str]) -> int:
        """Clear the "Updated" mark: the seller has seen the agents' replies and the cases'
        status. Returns how many replies were new."""
        now = self.clock.now()
        with self.uow() as uow:
            ids = [self._owned(uow, seller_id, n).id for n in numbers]
            count = uow.messages.mark_read(ids, now)
            uow.commit()
            return count

