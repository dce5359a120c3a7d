"""The case rules (DESIGN.md rules 1-11) as a service layer over a unit of work.

Operations return domain records or raise a `bot.errors.CaseRuleError` saying why; no chat
text is composed here beyond the relay's notices. Every change writes a case event, and the
outbox items it causes are written in the same transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from bot import domain as d
from bot.clock import Clock, SystemClock
from bot.domain import Case, CaseMessage, CaseSummary, Evaluation, Identity, Invitation, Seller
from bot.errors import (
    CaseNotFound,
    DailyCapReached,
    DeclinedFinal,
    EvaluationRefused,
    InvalidInput,
    InvalidTransition,
    InvitationInvalid,
    KeepOpenLimit,
    NotRegistered,
    NotYourCase,
)
from bot.labels import CASE_TYPES
from bot.messages import Button, Reply
from bot.ports import DuplicateActiveCase, UnitOfWork, UnitOfWorkFactory
from bot.relay import Relay
from bot.texts import CASE_TYPE_LABELS, EVALUATION_LABELS, STATUS_LABELS, t

# Which statuses an agent (or the system) may move a case to, from each status.
TRANSITIONS: dict[str, frozenset[str]] = {
    d.OPEN: frozenset({d.INVESTIGATING, d.PENDING, d.RESOLVED, d.CLOSED, d.DECLINED}),
    d.INVESTIGATING: frozenset({d.OPEN, d.PENDING, d.RESOLVED, d.CLOSED, d.DECLINED}),
    d.PENDING: frozenset({d.INVESTIGATING, d.RESOLVED, d.CLOSED, d.DECLINED}),
    d.RESOLVED: frozenset({d.INVESTIGATING, d.CLOSED}),
    d.CLOSED: frozenset(),  # closed cases are reopened as new linked cases, never edited
    d.DECLINED: frozenset(),  # final (rule 4)
}

STATUS_FILTERS: dict[str, tuple[str, ...] | None] = {
    "in_progress": d.ACTIVE_STATUSES,
    "active": d.ACTIVE_STATUSES,
    "closed": (d.CLOSED, d.DECLINED),
    "all": None,
}

# Unambiguous characters for invitation codes (no 0/O, 1/I/L).
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def _new_invitation_code() -> str:
    """Two groups of four, like ``K7QW-93XZ``: easy to read out, and the dash makes a typed
    code recognisable as one whatever letters it happens to draw."""
    return "-".join("".join(secrets.choice(_CODE_ALPHABET) for _ in range(4)) for _ in range(2))


@dataclass(frozen=True)
class CaseRules:
    """Thresholds of the rules; all configurable."""

    daily_case_cap: int = 5
    keep_open_max: int = 2
    keep_open_days: int = 7
    pending_auto_close_days: int = 7
    resolved_auto_close_days: int = 7
    first_response_hours: int = 24
    first_response_urgent_hours: int = 4
    evaluation_days: int = 4
    invitation_days: int = 14
    max_text_chars: int = 4000


@dataclass(frozen=True)
class OpenCaseResult:
    """``created`` False: an active case on the same issue already existed and is returned."""

    case: Case
    created: bool


class AddedMessage(NamedTuple):
    """A seller message added to a case; ``previous_status`` tells whether it moved the case
    back in progress (it was pending or resolved)."""

    case: Case
    message: CaseMessage
    previous_status: str


@dataclass(frozen=True)
class ReopenResult:
    """``case`` is the case now in progress; ``new_number`` when a closed case got a new one."""

    case: Case
    previous: Case
    new_case: bool


@dataclass(frozen=True)
class CaseDetail:
    case: Case
    messages: Sequence[CaseMessage]
    events: Sequence[d.CaseEvent]
    evaluation: Evaluation | None
    reopened_from: str | None
    reopened_as: str | None
    unread: int
    extra: dict[str, Any] = field(default_factory=dict)


class CaseService:
    """The rules. One method, one transaction."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        relay: Relay | None = None,
        rules: CaseRules | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.uow = uow_factory
        self.relay = relay or Relay()
        self.rules = rules or CaseRules()
        self.clock = clock or SystemClock()

    # Registration (rule 7) -----------------------------------------------------------------
    def create_invitation(
        self, seller_name: str, sub_account_of: int | None = None,
        days: int | None = None, created_by: str | None = None, code: str | None = None,
    ) -> Invitation:
        """An invitation for a new main account, or a sub-account of seller ``sub_account_of``."""
        now = self.clock.now()
        with self.uow() as uow:
            merchant_id = None
            if sub_account_of is not None:
                parent = uow.sellers.get(sub_account_of)
                if parent is None:
                    raise InvalidInput(f"no seller with id {sub_account_of}")
                merchant_id = parent.merchant_id
            code = (code or _new_invitation_code()).upper()
            inv = uow.invitations.add(
                code, seller_name.strip()[:200] or "Seller", merchant_id,
                now + timedelta(days=days or self.rules.invitation_days), created_by, now,
            )
            uow.commit()
            return inv

    def identify(
        self, channel: str, external_id: str, address: str | None = None,
        display_name: str | None = None,
    ) -> tuple[Identity, Seller | None]:
        """The platform user (created on first contact) and its seller, if registered."""
        now = self.clock.now()
        with self.uow() as uow:
            ident = uow.identities.ensure(channel, external_id, address or external_id,
                                          display_name, now)
            seller = uow.sellers.get(ident.seller_id) if ident.seller_id else None
            uow.commit()
            return ident, seller

    def register(self, identity_id: int, code: str) -> Seller:
        """Redeem an invitation code: the identity becomes a registered seller."""
        now = self.clock.now()
        with self.uow() as uow:
            ident = uow.identities.get(identity_id)
            if ident is None:
                raise InvalidInput("unknown user")
            if ident.seller_id is not None:
                seller = uow.sellers.get(ident.seller_id)
                assert seller is not None
                return seller
            inv = uow.invitations.get_by_code_for_update(code.strip().upper())
            if inv is None:
                raise InvitationInvalid("that invitation code does not exist")
            if inv.used_by_seller_id is not None:
                raise InvitationInvalid("that invitation code has already been used")
            if inv.expires_at < now:
                raise InvitationInvalid("that invitation code has expired")
            seller = uow.sellers.add(inv.merchant_id, inv.seller_name, now)
            uow.identities.link_seller(ident.id, seller.id)
            uow.invitations.mark_used(inv.id, seller.id, now)
            uow.commit()
            return seller

    def request_invitation(self, identity_id: int, note: str) -> int:
        """Record an unknown user's request for an invitation, for agents to review."""
        with self.uow() as uow:
            req = uow.invitations.add_request(identity_id, note[: self.rules.max_text_chars],
                                              self.clock.now())
            uow.commit()
            return req

    def invitation_requests(self) -> Sequence[dict[str, Any]]:
        with self.uow(read_only=True) as uow:
            return uow.invitations.list_requests()

    # Helpers -------------------------------------------------------------------------------
    def _clean(self, text: str) -> str:
        # Keep newlines and tabs; drop other control characters that break platforms.
        cleaned = "".join(ch for ch in text if ch in "\n\t" or ch >= " " or ord(ch) > 127)
        cleaned = cleaned.replace("\x7f", "").strip()
        if len(cleaned) > self.rules.max_text_chars:
            raise InvalidInput(
                f"the message is {len(cleaned)} characters long; the limit is "
                f"{self.rules.max_text_chars}",
                length=len(cleaned), limit=self.rules.max_text_chars,
            )
        return cleaned

    @staticmethod
    def _case(uow: UnitOfWork, number: str, lock: bool = False) -> Case:
        case = uow.cases.get_by_number(number.strip().upper(), lock=lock)
        if case is None:
            raise CaseNotFound(f"there is no case {number}", number=number)
        return case

    def _owned(self, uow: UnitOfWork, seller_id: int, number: str, lock: bool = False) -> Case:
        case = self._case(uow, number, lock)
        if case.seller_id != seller_id:
            # Main and sub-accounts are separate sellers: neither sees the other's cases.
            raise NotYourCase(f"{case.number} is not one of your cases", number=case.number)
        return case

    def _due(self, created: datetime, urgent: bool) -> datetime:
        hours = self.rules.first_response_urgent_hours if urgent else self.rules.first_response_hours
        return created + timedelta(hours=hours)

    def _title(self, case_type: str | None, order_id: str | None, now: datetime) -> str:
        if case_type is None:
            return t("case_title_untyped", when=now.strftime("%Y-%m-%d %H:%M UTC"))
        label = CASE_TYPE_LABELS[case_type]
        return f"{label} · {order_id}" if order_id else label

    # Queries -------------------------------------------------------------------------------
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
            )

    def find_active_case(self, seller_id: int, case_type: str,
                         order_id: str | None) -> Case | None:
        with self.uow(read_only=True) as uow:
            return uow.cases.find_active(seller_id, case_type, order_id)

    def find_declined_case(self, seller_id: int, case_type: str,
                           order_id: str | None) -> Case | None:
        with self.uow(read_only=True) as uow:
            return uow.cases.find_declined(seller_id, case_type, order_id)

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
            return list(uow.cases.list_all(statuses, query, limit))

    def mark_read(self, seller_id: int, numbers: Sequence[str]) -> int:
        """Clear the "Updated" mark: the seller has seen the agents' replies."""
        now = self.clock.now()
        with self.uow() as uow:
            ids = [self._owned(uow, seller_id, n).id for n in numbers]
            count = uow.messages.mark_read(ids, now)
            uow.commit()
            return count

    # Opening (rules 1, 4, 8) ---------------------------------------------------------------
    def check_can_open(self, seller_id: int, case_type: str | None,
                       order_id: str | None) -> Case | None:
        """Raise if a new case on this issue is refused; return an active case to add to."""
        now = self.clock.now()
        with self.uow(read_only=True) as uow:
            return self._check_can_open(uow, seller_id, case_type, order_id, now)

    def _check_can_open(self, uow: UnitOfWork, seller_id: int, case_type: str | None,
                        order_id: str | None, now: datetime) -> Case | None:
        if case_type is not None:
            declined = uow.cases.find_declined(seller_id, case_type, order_id)
            if declined is not None:
                reason = next(
                    (e.reason for e in reversed(uow.events.for_case(declined.id))
                     if e.kind == "status" and e.to_value == d.DECLINED and e.reason),
                    None,
                )
                raise DeclinedFinal(
                    f"{declined.number} on this issue was declined with no further action"
                    + (f": {reason}" if reason else ""),
                    number=declined.number, reason=reason,
                )
            active = uow.cases.find_active(seller_id, case_type, order_id)
            if active is not None:
                return active
        recent = uow.cases.count_created_since(seller_id, now - timedelta(days=1))
        if recent >= self.rules.daily_case_cap:
            raise DailyCapReached(
                f"you have opened {recent} cases in the last 24 hours; the limit is "
                f"{self.rules.daily_case_cap}. Please add to an existing case or try tomorrow.",
                limit=self.rules.daily_case_cap,
            )
        return None

    def open_case(
        self, seller_id: int, case_type: str | None, description: str,
        order_id: str | None = None, attachments: Sequence[dict[str, Any]] = (),
        identity_id: int | None = None, urgent: bool = False,
    ) -> OpenCaseResult:
        """Open a case, or return the active case on the same issue (``created`` False).

        The partial unique index makes this safe under concurrency: of simultaneous calls for
        one issue exactly one creates, the others get that case back.
        """
        if case_type is not None and case_type not in CASE_TYPES:
            raise InvalidInput(f"unknown case type {case_type!r}")
        text = self._clean(description)
        now = self.clock.now()
        with self.uow() as uow:
            seller = uow.sellers.get(seller_id)
            if seller is None:
                raise NotRegistered("only registered sellers can open cases")
            existing = self._check_can_open(uow, seller_id, case_type, order_id, now)
            if existing is not None:
                return OpenCaseResult(existing, created=False)
            try:
                case = uow.cases.add(d.NewCase(
                    seller_id=seller_id, identity_id=identity_id, case_type=case_type,
                    order_id=order_id, title=self._title(case_type, order_id, now),
                    status=d.OPEN, urgent=urgent, created_at=now,
                    first_response_due_at=self._due(now, urgent),
                ))
            except DuplicateActiveCase:
                uow.rollback()
                assert case_type is not None
                raced = uow.cases.find_active(seller_id, case_type, order_id)
                if raced is None:
                    raise
                return OpenCaseResult(raced, created=False)
            self._record_open(uow, case, seller, text, attachments, now)
            uow.commit()
            return OpenCaseResult(case, created=True)

    def _record_open(self, uow: UnitOfWork, case: Case, seller: Seller, text: str,
                     attachments: Sequence[dict[str, Any]], now: datetime) -> None:
        msg = uow.messages.add(case.id, d.SELLER, str(seller.id), seller.display_name, text,
                               attachments, False, now)
        uow.events.add(case.id, "created", d.SELLER, str(seller.id), None, d.OPEN, None, now)
        if case.urgent:
            uow.events.add(case.id, "urgent", d.SELLER, str(seller.id), "off", "on", None, now)
        self.relay.publish_card(uow, case, now)
        self.relay.thread(uow, case, text, seller.display_name, now, attachments, msg.id)

    # Conversation -------------------------------------------------------------------------
    def add_seller_message(
        self, seller_id: int, number: str, text: str,
        attachments: Sequence[dict[str, Any]] = (), platform_ref: tuple[str, str, str] | None = None,
        seller: Seller | None = None,
    ) -> AddedMessage:
        """A seller writes in a case. Pending or resolved cases go back in progress (rule 3).
        ``seller``: the seller's record if the caller has it already (saves reading it)."""
        text = self._clean(text)
        if not text and not attachments:
            raise InvalidInput("the message is empty")
        now = self.clock.now()
        with self.uow() as uow:
            case = self._owned(uow, seller_id, number, lock=True)
            if case.status == d.DECLINED:
                raise DeclinedFinal(f"{case.number} was declined with no further action",
                                    number=case.number)
            if case.status == d.CLOSED:
                raise InvalidTransition(f"{case.number} is closed; reopen it to continue",
                                        number=case.number)
            if seller is None or seller.id != seller_id:
                seller = uow.sellers.get(seller_id)
            assert seller is not None
            msg = uow.messages.add(case.id, d.SELLER, str(seller_id), seller.display_name, text,
                                   attachments, False, now)
            if platform_ref:
                uow.messages.add_ref(*platform_ref, case_id=case.id, case_message_id=msg.id)
            previous = case.status
            if case.status in (d.PENDING, d.RESOLVED):
                case = self.apply_status(uow, case, d.INVESTIGATING, d.SELLER, str(seller_id),
                                         "seller replied", now, notify_seller=False)
            else:
                case = uow.cases.update(case.id, updated_at=now)
            self.relay.thread(uow, case, text, seller.display_name, now, attachments, msg.id)
            uow.commit()
            return AddedMessage(case, msg, previous)

    def agent_reply(
        self, number: str, agent_id: str, text: str, agent_name: str | None = None,
        from_agents_platform: bool = False, platform_message_id: str | None = None,
    ) -> tuple[Case, CaseMessage]:
        """An agent answers: the reply is queued to the seller; the first response is stamped.

        ``from_agents_platform``: the reply was written in the Slack thread (so it is not posted
        there again); ``platform_message_id`` its ts, which gets a delivery reaction later.
        """
        text = self._clean(text)
        if not text:
            raise InvalidInput("the reply is empty")
        now = self.clock.now()
        with self.uow() as uow:
            case = self._case(uow, number, lock=True)
            if case.status == d.DECLINED:
                raise InvalidTransition(f"{case.number} is declined; replies are not sent")
            msg = uow.messages.add(case.id, d.AGENT, agent_id, agent_name, text, (), False, now)
            if from_agents_platform and platform_message_id and case.slack_channel:
                # So that an edit of this thread message finds the reply it became.
                uow.messages.add_ref(self.relay.config.agents_destination or "slack",
                                     case.slack_channel, platform_message_id, case.id, msg.id)
            changes: dict[str, Any] = {"updated_at": now}
            if case.first_response_at is None:
                changes["first_response_at"] = now
            case = uow.cases.update(case.id, **changes)
            extra = {"agent_ts": platform_message_id} if platform_message_id else None
            queued = self.relay.to_seller(
                uow, case, Reply(t("agent_reply", number=case.number, text=text),
                                 case_number=case.number),
                now, case_message_id=msg.id, extra=extra,
            )
            if queued is None:
                self.relay.thread(uow, case, t("thread.delivery_failed",
                                               error="the seller's chat does not accept messages"),
                                  "Frontdoor", now)
            if not from_agents_platform:
                self.relay.thread(uow, case, t("thread.agent_reply_cli", author=agent_name or agent_id,
                                               text=text), agent_name or agent_id, now)
            if "first_response_at" in changes:
                # The first-response target's outcome, for reports (rule 11).
                due = case.first_response_due_at
                uow.events.add(case.id, "first_response", d.AGENT, agent_id, None,
                               "met" if due is None or now <= due else "missed", None, now)
                self.relay.publish_card(uow, case, now)
            uow.commit()
            return case, msg

    def agent_edit(self, case_message_id: int, text: str) -> tuple[Case, CaseMessage] | None:
        """An agent edited a relayed reply: store it and relay the edit where it was delivered."""
        text = self._clean(text)
        now = self.clock.now()
        with self.uow() as uow:
            old = uow.messages.get(case_message_id)
            if old is None or old.author_kind != d.AGENT:
                return None
            msg = uow.messages.edit(case_message_id, text, now)
            case = uow.cases.get(msg.case_id)
            assert case is not None
            # Nothing is lost: the words the seller may already have read stay on record.
            uow.events.add(case.id, "message_edited", d.AGENT, old.author_ref,
                           f"message {old.id}", None, old.text, now)
            ident = uow.identities.get(case.identity_id) if case.identity_id else None
            if ident is not None and ident.blocked_at is None:
                from bot import outbox as ob

                uow.outbox.add(ident.channel, ob.SELLER_EDIT,
                               {"address": ident.address, "case_message_id": msg.id,
                                "text": t("agent_reply", number=case.number, text=text)},
                               case.id, f"{ident.channel}:chat:{ident.address}", now)
            uow.commit()
            return case, msg

    def internal_note(self, number: str, agent_id: str, text: str,
                      agent_name: str | None = None,
                      from_agents_platform: bool = False) -> CaseMessage:
        """A note for agents only; never reaches the seller."""
        text = self._clean(text)
        if not text:
            raise InvalidInput("the note is empty")
        now = self.clock.now()
        with self.uow() as uow:
            case = self._case(uow, number)
            msg = uow.messages.add(case.id, d.AGENT, agent_id, agent_name, text, (), True, now)
            if not from_agents_platform:
                self.relay.thread(uow, case, t("thread.note", author=agent_name or agent_id,
                                               text=text), agent_name or agent_id, now)
            uow.commit()
            return msg

    # Status (rule 10) ----------------------------------------------------------------------
    def change_status(
        self, number: str, new_status: str, actor_kind: str = d.AGENT,
        actor_ref: str | None = None, reason: str | None = None,
    ) -> Case:
        """Move a case to ``new_status`` if the transition is allowed; the seller is told."""
        if new_status not in d.STATUSES:
            raise InvalidInput(f"unknown status {new_status!r}; use one of {', '.join(d.STATUSES)}")
        now = self.clock.now()
        with self.uow() as uow:
            case = self._case(uow, number, lock=True)
            if case.status == new_status:
                return case
            if new_status not in TRANSITIONS[case.status]:
                hint = (" (declined is final)" if case.status == d.DECLINED else
                        " (reopen it instead)" if case.status == d.CLOSED else "")
                raise InvalidTransition(
                    f"{case.number} cannot go from {case.status} to {new_status}{hint}",
                    number=case.number,
                )
            case = self.apply_status(uow, case, new_status, actor_kind, actor_ref, reason, now)
            uow.commit()
            return case

    def apply_status(
        self, uow: UnitOfWork, case: Case, new: str, actor_kind: str, actor_ref: str | None,
        reason: str | None, now: datetime, notify_seller: bool = True,
    ) -> Case:
        """Move ``case`` (already locked) to ``new`` inside the caller's unit of work: the
        deadlines, the event, the card, the thread note and (optionally) the seller's notice.
        Transitions are not checked here; callers decide (see ``change_status``)."""
        old = case.status
        changes: dict[str, Any] = {"status": new, "status_changed_at": now, "updated_at": now}
        if old == d.PENDING:
            # The first-response clock paused while the case waited for the seller.
            if case.first_response_at is None and case.first_response_due_at and case.pending_since:
                changes["first_response_due_at"] = (
                    case.first_response_due_at + (now - case.pending_since))
            changes.update(pending_since=None, reminders_sent=0)
        if new == d.PENDING:
            changes.update(
                pending_since=now,
                auto_close_at=now + timedelta(days=self.rules.pending_auto_close_days),
                reminders_sent=0,
            )
        elif new == d.RESOLVED:
            changes.update(resolved_at=now,
                           auto_close_at=now + timedelta(days=self.rules.resolved_auto_close_days))
        elif new == d.CLOSED:
            changes.update(closed_at=now, auto_close_at=None)
        else:
            changes["auto_close_at"] = None
        if new in (d.INVESTIGATING, d.OPEN) and old == d.RESOLVED:
            changes["resolved_at"] = None
        case = uow.cases.update(case.id, **changes)
        uow.events.add(case.id, "status", actor_kind, actor_ref, old, new, reason, now)
        self.relay.publish_card(uow, case, now)
        self.relay.thread(
            uow, case,
            t("thread.status", old=STATUS_LABELS[old], new=STATUS_LABELS[new],
              actor=actor_ref or actor_kind, reason=f" ({reason})" if reason else ""),
            "Frontdoor", now,
        )
        if notify_seller and new != d.OPEN:
            # Back to "open" (unassigned) looks the same to the seller: nothing to tell.
            self._notify_status(uow, case, new, reason, now)
        return case

    def _notify_status(self, uow: UnitOfWork, case: Case, new: str, reason: str | None,
                       now: datetime) -> None:
        if new == d.DECLINED:
            text = (t("status.declined", number=case.number, reason=reason) if reason
                    else t("status.declined_no_reason", number=case.number))
            self.relay.to_seller(uow, case, Reply(text, case_number=case.number), now)
        elif new == d.RESOLVED:
            self.relay.to_seller(uow, case, Reply(t("status.resolved", number=case.number),
                                                  case_number=case.number), now)
            if uow.evaluations.get(case.id) is None:
                self.relay.to_seller(uow, case, self.evaluation_prompt(case), now)
        else:
            self.relay.to_seller(uow, case, Reply(t(f"status.{new}", number=case.number),
                                                  case_number=case.number), now)

    @staticmethod
    def evaluation_prompt(case: Case) -> Reply:
        """The three evaluation levels as buttons (rule 6)."""
        return Reply(
            t("evaluate.ask", number=case.number),
            tuple(Button(EVALUATION_LABELS[level], f"eval:{case.number}:{level}")
                  for level in d.EVALUATION_LEVELS),
            case_number=case.number,
        )

    # Seller actions (rules 3, 5) -----------------------------------------------------------
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
                if text or attachments:
                    msg = uow.messages.add(case.id, d.SELLER, str(seller_id), seller.display_name,
                                           text, attachments, False, now)
                    self.relay.thread(uow, case, text, seller.display_name, now, attachments, msg.id)
                    if case.status == d.PENDING:
                        case = self.apply_status(uow, case, d.INVESTIGATING, d.SELLER,
                                                str(seller_id), "seller replied", now, False)
                uow.commit()
                return ReopenResult(case, case, new_case=False)
            if case.status == d.RESOLVED:
                previous = case
                case = self.apply_status(uow, case, d.INVESTIGATING, d.SELLER, str(seller_id),
                                        "reopened by the seller", now, notify_seller=False)
                if text or attachments:
                    msg = uow.messages.add(case.id, d.SELLER, str(seller_id), seller.display_name,
                                           text, attachments, False, now)
                    self.relay.thread(uow, case, text, seller.display_name, now, attachments, msg.id)
                uow.commit()
                return ReopenResult(case, previous, new_case=False)
            # Closed: a new number, linked both ways (rule 3). It is a new case on the issue,
            # so the same checks as opening one: declined is final (rule 4), one active case
            # per issue (rule 1), the daily cap (rule 8).
            active = self._check_can_open(uow, seller_id, case.case_type, case.order_id, now)
            if active is not None:
                return ReopenResult(active, case, new_case=False)
            try:
                new = uow.cases.add(d.NewCase(
                    seller_id=seller_id, identity_id=case.identity_id, case_type=case.case_type,
                    order_id=case.order_id, title=case.title, status=d.OPEN, urgent=case.urgent,
                    created_at=now, first_response_due_at=self._due(now, case.urgent),
                    reopened_from_id=case.id,
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
            self.relay.thread(uow, new, t("thread.reopened_from", number=old.number),
                              "Frontdoor", now)
            self.relay.thread(uow, old, t("thread.reopened_as", number=new.number),
                              "Frontdoor", now)
            uow.commit()
            return ReopenResult(new, old, new_case=True)

    def set_urgent(self, number: str, on: bool, actor_kind: str, actor_ref: str | None,
                   seller_id: int | None = None) -> Case:
        """Flag (or unflag) a case urgent; the first-response target tightens to the urgent one."""
        now = self.clock.now()
        with self.uow() as uow:
            case = (self._owned(uow, seller_id, number, lock=True) if seller_id is not None
                    else self._case(uow, number, lock=True))
            if case.status in (d.CLOSED, d.DECLINED):
                raise InvalidTransition(f"{case.number} is {case.status}")
            if case.urgent == on:
                return case
            changes: dict[str, Any] = {"urgent": on, "updated_at": now}
            if on and case.first_response_at is None:
                # While the case waits for the seller the clock is paused (it resumes with the
                # paused time added): the urgent target counts from where it stopped.
                paused_at = case.pending_since if case.status == d.PENDING else None
                due = self._due(paused_at or now, True)
                if case.first_response_due_at is None or due < case.first_response_due_at:
                    changes["first_response_due_at"] = due
                    changes["fr_warning_sent"] = False
            case = uow.cases.update(case.id, **changes)
            uow.events.add(case.id, "urgent", actor_kind, actor_ref, "off" if on else "on",
                           "on" if on else "off", None, now)
            self.relay.publish_card(uow, case, now)
            self.relay.thread(uow, case, t("thread.urgent_on" if on else "thread.urgent_off",
                                           actor=actor_ref or actor_kind), "Frontdoor", now)
            uow.commit()
            return case

    def keep_open(self, seller_id: int, number: str) -> Case:
        """The seller needs more time: push the auto-close deadline back (a limited number
        of times)."""
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
            self.relay.thread(uow, case, t("thread.keep_open",
                                           until=until.strftime("%Y-%m-%d %H:%M UTC")),
                              "Frontdoor", now)
            uow.commit()
            return case

    def request_human(self, seller_id: int, number: str) -> Case:
        """The seller asked for a person: flag the case for agents."""
        now = self.clock.now()
        with self.uow() as uow:
            case = self._owned(uow, seller_id, number, lock=True)
            if case.needs_human:
                return case
            case = uow.cases.update(case.id, needs_human=True, updated_at=now)
            uow.events.add(case.id, "needs_human", d.SELLER, str(seller_id), "off", "on", None,
                           now)
            self.relay.publish_card(uow, case, now)
            self.relay.thread(uow, case, t("thread.needs_human"), "Frontdoor", now)
            uow.commit()
            return case

    def evaluate(self, seller_id: int, number: str, level: str,
                 reason: str | None = None) -> Evaluation:
        """Rate the resolution: once per case, within the window after resolution (rule 6)."""
        if level not in d.EVALUATION_LEVELS:
            raise InvalidInput(f"unknown evaluation {level!r}")
        if level in d.LEVELS_NEEDING_REASON and not (reason and reason.strip()):
            raise InvalidInput("please tell us why", needs_reason=True)
        now = self.clock.now()
        with self.uow() as uow:
            case = self._owned(uow, seller_id, number, lock=True)
            if case.resolved_at is None or case.status not in (d.RESOLVED, d.CLOSED):
                raise EvaluationRefused(f"{case.number} has not been resolved yet")
            if now > case.resolved_at + timedelta(days=self.rules.evaluation_days):
                raise EvaluationRefused(
                    f"the evaluation of {case.number} closed {self.rules.evaluation_days} days "
                    "after it was resolved"
                )
            if uow.evaluations.get(case.id) is not None:
                raise EvaluationRefused(f"{case.number} has already been evaluated")
            ev = uow.evaluations.add(case.id, level, self._clean(reason) if reason else None, now)
            uow.events.add(case.id, "evaluation", d.SELLER, str(seller_id), None, level,
                           ev.reason, now)
            self.relay.thread(uow, case, t("thread.evaluation", level=EVALUATION_LABELS[level],
                                           reason=f": {ev.reason}" if ev.reason else ""),
                              "Frontdoor", now)
            self.relay.publish_card(uow, case, now)
            uow.commit()
            return ev
