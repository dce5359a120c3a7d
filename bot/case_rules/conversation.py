"""The conversation of a case: seller messages, agent replies and edits, internal notes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot import domain as d
from bot.case_rules.results import AddedMessage
from bot.case_rules.status import StatusRules
from bot.domain import Case, CaseMessage, Seller
from bot.errors import (
    DeclinedFinal,
    InvalidInput,
    InvalidTransition,
)
from bot.messages import Reply
from bot.texts import t


class ConversationRules(StatusRules):
    """Seller messages, agent replies and edits, internal notes: each relayed where it goes."""

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

