"""The scheduler's email sweep: sellers with a verified address (bot.seller_emails) hear by
email of what they have not seen in the chat or on the portal.

- An agent's reply still unread ``unread_after`` (FRONTDOOR_EMAIL_UNREAD_MINUTES, 30) after it
  was written: one mail per case with how many replies wait and the latest one, and a login
  link to the case. Each reply is looked at once (``case_messages.unread_notice_at``, claimed
  with the rows locked), whether or not its seller has an address, so the due set stays the
  replies of the last minutes and nothing is mailed twice. Replies written before the address
  was verified are not mailed about.
- A resolved case not rated yet: the evaluation invitation, once per resolution (a
  ``sweep_marks`` row is the claim), while the evaluation window is open. Rating stays once
  per case (rule 6): the link opens the case, whose page takes one evaluation.

Mail goes through the outbox (destination ``email``) in the transaction that claimed it; the
email sender makes the links when it sends.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot import i18n
from bot.clock import Clock
from bot.domain import Case
from bot.ports import UnitOfWork, UnitOfWorkFactory
from bot.seller_emails import (
    EMAIL,
    EMAIL_EVALUATION,
    EMAIL_REPLY,
    LINK_SLOT,
    email_ordering_key,
)
from bot.texts import case_title, t

log = logging.getLogger(__name__)

#: The longest quote of an agent's reply in a notification mail.
QUOTE_CHARS = 1000


@dataclass(frozen=True)
class UnreadReplies:
    """A case with agent replies its seller has not read, to be mailed about."""

    case: Case
    address: str
    count: int
    latest_text: str


@dataclass(frozen=True)
class EvaluationInvite:
    case: Case
    address: str


class EmailNoticeStore(Protocol):
    """The SQL side (storage.email_notice_queries). Claims work in the caller's unit of work
    and skip rows another sweeper holds."""

    def claim_unread_replies(self, uow: UnitOfWork, written_before: datetime, now: datetime,
                             limit: int) -> tuple[int, list[UnreadReplies]]:
        """Settle up to ``limit`` unread agent replies written before ``written_before``:
        (how many were settled, the cases among them to mail about)."""
        ...

    def claim_evaluation_invites(self, uow: UnitOfWork, resolved_since: datetime,
                                 now: datetime, limit: int) -> list[EvaluationInvite]:
        """Resolved, unrated cases of sellers with an address, resolved since
        ``resolved_since``, not invited for this resolution yet; records the invitation."""
        ...


class EmailNotices:
    """Runs the email sweep; each method returns how many mails it queued."""

    def __init__(self, uow_factory: UnitOfWorkFactory, store: EmailNoticeStore, clock: Clock,
                 unread_after: timedelta, evaluation_days: float, batch_size: int = 200) -> None:
        self.uow = uow_factory
        self.store = store
        self.clock = clock
        self.unread_after = unread_after
        self.evaluation_window = timedelta(days=evaluation_days)
        self.batch_size = batch_size

    def run(self, now: datetime | None = None) -> int:
        now = now or self.clock.now()
        return self.mail_unread_replies(now) + self.mail_evaluation_invites(now)

    def mail_unread_replies(self, now: datetime | None = None) -> int:
        now = now or self.clock.now()
        queued = 0
        while True:
            with self.uow() as uow:
                settled, due = self.store.claim_unread_replies(
                    uow, now - self.unread_after, now, self.batch_size)
                for unread in due:
                    self._queue(uow, unread.case, unread.address, EMAIL_REPLY, now,
                                "email.reply_subject", "email.reply_body",
                                count=unread.count, reply=_quote(unread.latest_text))
                uow.commit()
            queued += len(due)
            if settled < self.batch_size:
                return queued

    def mail_evaluation_invites(self, now: datetime | None = None) -> int:
        now = now or self.clock.now()
        queued = 0
        while True:
            with self.uow() as uow:
                due = self.store.claim_evaluation_invites(
                    uow, now - self.evaluation_window, now, self.batch_size)
                for invite in due:
                    case = invite.case
                    until = (case.resolved_at or case.status_changed_at) + self.evaluation_window
                    self._queue(uow, case, invite.address, EMAIL_EVALUATION, now,
                                "email.evaluation_subject", "email.evaluation_body",
                                until=until)
                uow.commit()
            queued += len(due)
            if len(due) < self.batch_size:
                return queued

    def _queue(self, uow: UnitOfWork, case: Case, address: str, kind: str, now: datetime,
               subject_key: str, body_key: str, **values: Any) -> None:
        seller = uow.sellers.get(case.seller_id)
        with i18n.speaking_to(seller):
            if "until" in values:
                values["until"] = i18n.when(values["until"])
            payload = {
                "to": address,
                "subject": t(subject_key, number=case.number),
                "text": t(body_key, name=seller.display_name if seller else "",
                          number=case.number, title=case_title(case), link=LINK_SLOT,
                          **values),
                "link": {"kind": "login", "seller_id": case.seller_id,
                         "case_number": case.number},
            }
        uow.outbox.add(EMAIL, kind, payload, case.id, email_ordering_key(address), now)


def _quote(text: str) -> str:
    text = text.strip()
    return text if len(text) <= QUOTE_CHARS else text[:QUOTE_CHARS - 1] + "…"


__all__: Sequence[str] = ["EmailNoticeStore", "EmailNotices", "EvaluationInvite",
                          "UnreadReplies"]
