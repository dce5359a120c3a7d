"""What a seller may do to a case (rules 3, 5): reopen, urgent, keep open, ask for a person."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from bot import domain as d
from bot.case_rules.conversation import SELLER_REPLIED
from bot.case_rules.opening import OpeningRules
from bot.case_rules.results import HumanRequest, ReopenResult
from bot.case_rules.status import StatusRules
from bot.domain import Case
from bot.errors import (
    DeclinedFinal,
    InvalidTransition,
    KeepOpenLimit,
    ReopenWindowPassed,
)
from bot.ports import DuplicateActiveCase, UnitOfWork
from bot.relay import NOTE_AUTHOR
from bot.texts import STATUS_LABELS, t

# A seller asking for a person again within this time, with no agent answer in between, is
# not announced to the thread again (the first request is still there, unanswered).
HUMAN_AGAIN_QUIET = timedelta(hours=1)


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


class SellerActionRules(OpeningRules, StatusRules):
    """Reopening, urgency, keeping a case open, asking for a person."""

    def reopen(self, seller_id: int, number: str, text: str = "",
               attachments: Sequence[dict[str, Any]] = ()) -> ReopenResult:
        """Closed: a new linked case. Resolved: back in progress. Declined: refused (final)."""
        text = self._clean(text) if text else ""
        now = self.clock.now()
        with self.uow() as uow:
            case = self._owned(uow, seller_id, number, lock=True)
            # A case already reopened: continue from the newest in the chain.
            while case.reopened_as_id is not None:
                nxt = uow.cases.get_for_update(case.reopened_as_id)
                assert nxt is not None
                case = nxt
            seller = uow.sellers.get(seller_id)
            assert seller is not None
            if case.status == d.DECLINED:
                raise DeclinedFinal(
                    f"{case.number} was declined with no further action and cannot be reopened",
                    number=case.number,
                )
            if case.status in (d.OPEN, d.INVESTIGATING, d.PENDING):
                case = self._add_to_active(uow, case, seller, text, attachments, now)
                uow.commit()
                return ReopenResult(case, case, new_case=False)
            if case.status == d.RESOLVED:
                previous = case
                case = self.apply_status(uow, case, d.INVESTIGATING, d.SELLER, str(seller_id),
                                        "reopened by the seller", now, notify_seller=False)
                if text or attachments:
                    msg = uow.messages.add(case.id, d.SELLER, str(seller_id), seller.display_name,
                                           text, attachments, False, now)
                    self.relay.post_in_thread(uow, case, text, seller.display_name, now, attachments, msg.id)
                uow.commit()
                return ReopenResult(case, previous, new_case=False)
            # Closed: a new number, linked both ways (rule 3), within the reopening window.
            # It continues the old case, so it doesn't count for the daily cap (rule 8); the
            # other checks of opening one hold: declined is final (rule 4), one active case
            # per issue (rule 1).
            window = timedelta(days=self.rules.reopen_days)
            if case.closed_at is not None and now - case.closed_at > window:
                raise ReopenWindowPassed(
                    f"{case.number} closed more than {self.rules.reopen_days} days ago; a new "
                    "case can link it instead",
                    number=case.number, days=self.rules.reopen_days,
                )
            active = self._check_can_open(uow, seller_id, case.case_type, case.order_id, now,
                                          case.subject, counts_for_cap=False)
            if active is not None:
                # Another case on the issue is active: the seller's words go there instead.
                locked = uow.cases.get_for_update(active.id)
                assert locked is not None
                if text or attachments:
                    locked = self._add_to_active(uow, locked, seller, text, attachments, now)
                    uow.commit()
                return ReopenResult(locked, case, new_case=False)
            try:
                new = uow.cases.add(d.NewCase(
                    seller_id=seller_id, identity_id=case.identity_id, case_type=case.case_type,
                    order_id=case.order_id, title=case.title, status=d.OPEN, urgent=case.urgent,
                    created_at=now, first_response_due_at=self._due(now, case.urgent),
                    reopened_from_id=case.id, subject=case.subject,
                ))
            except DuplicateActiveCase:
                uow.rollback()
                raise InvalidTransition("a case on this issue was just opened; try again") from None
            old = uow.cases.update(case.id, reopened_as_id=new.id, updated_at=now)
            uow.events.add(old.id, "reopened_as", d.SELLER, str(seller_id), old.number,
                           new.number, None, now)
            uow.events.add(new.id, "reopened_from", d.SELLER, str(seller_id), old.number,
                           new.number, None, now)
            body = text or t("thread.reopened_from", number=old.number)
            self._record_open(uow, new, seller, body, attachments, now)
            self.relay.post_in_thread(uow, new, t("thread.reopened_from", number=old.number),
                                      NOTE_AUTHOR, now)
            self.relay.post_in_thread(uow, old, t("thread.reopened_as", number=new.number),
                                      NOTE_AUTHOR, now)
            uow.commit()
            return ReopenResult(new, old, new_case=True)

    def _add_to_active(self, uow: UnitOfWork, case: Case, seller: d.Seller, text: str,
                       attachments: Sequence[dict[str, Any]], now: datetime) -> Case:
        """What the seller wrote with a reopen, in ``case`` (active and locked): a case waiting
        for the seller, or resolved, is back in progress. Nothing written: nothing changes."""
        if not text and not attachments:
            return case
        msg = uow.messages.add(case.id, d.SELLER, str(seller.id), seller.display_name, text,
                               attachments, False, now)
        self.relay.post_in_thread(uow, case, text, seller.display_name, now, attachments, msg.id)
        if case.status in (d.PENDING, d.RESOLVED):
            case = self.apply_status(uow, case, d.INVESTIGATING, d.SELLER, str(seller.id),
                                     SELLER_REPLIED, now, False)
        return case

    def set_urgent(self, number: str, on: bool, actor_kind: str, actor_ref: str | None,
                   seller_id: int | None = None, reason: str = "",
                   reason_files: Sequence[dict[str, Any]] = ()) -> Case:
        """Flag (or unflag) a case urgent; the first-response target tightens to the urgent one.
        ``reason``/``reason_files``: what the seller typed around it, kept in the case."""
        reason = self._clean(reason)  # too long: refused before anything is done
        now = self.clock.now()
        with self.uow() as uow:
            case = (self._owned(uow, seller_id, number, lock=True) if seller_id is not None
                    else self._case(uow, number, lock=True))
            if case.status in (d.CLOSED, d.DECLINED):
                raise InvalidTransition(f"{case.number} is {case.status}")
            if case.urgent == on:
                if seller_id is not None and (reason or reason_files):
                    self._keep_reason(uow, case, seller_id, reason, reason_files, now)
                    uow.commit()
                return case
            changes: dict[str, Any] = {"urgent": on, "updated_at": now}
            if on and case.first_response_at is None:
                # While the case waits for the seller the clock is paused (it resumes with the
                # paused time added): the urgent target counts from where it stopped.
                paused_at = case.pending_since if case.status == d.PENDING else None
                due = self._due(paused_at or now, True)
                if case.first_response_due_at is None or due < case.first_response_due_at:
                    changes["first_response_due_at"] = due
                    changes["first_response_warning_sent"] = False
            case = uow.cases.update(case.id, **changes)
            uow.events.add(case.id, "urgent", actor_kind, actor_ref, "off" if on else "on",
                           "on" if on else "off", None, now)
            self.relay.publish_card(uow, case, now)
            self.relay.post_in_thread(uow, case, t("thread.urgent_on" if on else "thread.urgent_off",
                                           actor=actor_ref or actor_kind), NOTE_AUTHOR, now)
            if seller_id is not None:
                self._keep_reason(uow, case, seller_id, reason, reason_files, now)
            uow.commit()
            return case

    def keep_open(self, seller_id: int, number: str, reason: str = "",
                  reason_files: Sequence[dict[str, Any]] = ()) -> Case:
        """The seller needs more time: push the auto-close deadline back (a limited number
        of times). ``reason``/``reason_files``: what the seller typed around it."""
        reason = self._clean(reason)  # too long: refused before anything is done
        now = self.clock.now()
        with self.uow() as uow:
            case = self._owned(uow, seller_id, number, lock=True)
            if case.status not in (d.PENDING, d.RESOLVED):
                raise InvalidTransition(
                    f"{case.number} is {STATUS_LABELS[case.status].lower()}; it will not be "
                    "closed while it is in progress",
                    number=case.number,
                )
            if case.keep_open_count >= self.rules.keep_open_max:
                raise KeepOpenLimit(
                    f"{case.number} has already been kept open {case.keep_open_count} times "
                    "(the limit); please reply with what you have so far",
                    number=case.number,
                )
            base = max(case.auto_close_at or now, now)
            until = base + timedelta(days=self.rules.keep_open_days)
            case = uow.cases.update(case.id, auto_close_at=until,
                                    keep_open_count=case.keep_open_count + 1, updated_at=now)
            uow.events.add(case.id, "keep_open", d.SELLER, str(seller_id), None,
                           until.isoformat(), None, now)
            self.relay.post_in_thread(uow, case, t("thread.keep_open",
                                           until=until.strftime("%Y-%m-%d %H:%M UTC")),
                                      NOTE_AUTHOR, now)
            self._keep_reason(uow, case, seller_id, reason, reason_files, now)
            uow.commit()
            return case

    def request_human(self, seller_id: int, number: str, reason: str = "",
                      reason_files: Sequence[dict[str, Any]] = ()) -> HumanRequest:
        """The seller asked for a person: flag the case for agents. Asked again: say when
        they first asked and whether an agent has answered since, and tell the thread (at
        most once per ``HUMAN_AGAIN_QUIET``, unless an agent answered in between)."""
        reason = self._clean(reason)  # too long: refused before anything is done
        now = self.clock.now()
        with self.uow() as uow:
            case = self._owned(uow, seller_id, number, lock=True)
            if case.needs_human:
                result = self._human_again(uow, case, seller_id, now)
                self._keep_reason(uow, case, seller_id, reason, reason_files, now)
                uow.commit()
                return result
            case = self._flag_for_human(uow, case, seller_id, now)
            self._keep_reason(uow, case, seller_id, reason, reason_files, now)
            uow.commit()
            return HumanRequest(case)

    def _human_again(self, uow: UnitOfWork, case: Case, seller_id: int,
                     now: datetime) -> HumanRequest:
        requests = [e for e in uow.events.for_case(case.id)
                    if e.kind in ("needs_human", "needs_human_again")]
        # Every flag has its event; a case without one was flagged when it was opened.
        first = requests[0].created_at if requests else case.created_at
        last_told = requests[-1].created_at if requests else first
        answers = [m for m in uow.messages.for_case(case.id, include_internal=False)
                   if m.author_kind == d.AGENT and m.created_at > first]
        answer = answers[-1] if answers else None
        answered_since_told = answer is not None and answer.created_at > last_told
        if now - last_told < HUMAN_AGAIN_QUIET and not answered_since_told:
            return HumanRequest(case, first, answer, agents_told=False)
        uow.events.add(case.id, "needs_human_again", d.SELLER, str(seller_id), "on", "on", None,
                       now)
        note = (t("thread.needs_human_again_answered", answered=_stamp(answer.created_at))
                if answer is not None
                else t("thread.needs_human_again_unanswered", when=_stamp(first)))
        self.relay.post_in_thread(uow, case, note, NOTE_AUTHOR, now)
        return HumanRequest(case, first, answer, agents_told=True)

