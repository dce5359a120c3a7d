"""The conversation of a case: seller messages, agent replies and edits, internal notes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any, NamedTuple

from bot import domain as d
from bot.case_rules.preferences import owner_speaking
from bot.case_rules.results import AddedMessage
from bot.case_rules.status import StatusRules
from bot.domain import Case, CaseMessage, Seller
from bot.errors import (
    DeclinedFinal,
    InvalidInput,
    InvalidTransition,
)
from bot.messages import Reply
from bot.outbox_payloads import SellerEditPayload
from bot.relay import NOTE_AUTHOR
from bot.texts import t

# The reason on the status event of a seller's message putting a case back in progress.
SELLER_REPLIED = "seller replied"


class WithdrawnMessage(NamedTuple):
    """A seller message taken back out of ``case``; ``restored_status`` when the case went
    back to the status the message had moved it from."""

    case: Case
    message: CaseMessage
    restored_status: str | None


class ConversationRules(StatusRules):
    """Seller messages, agent replies and edits, internal notes: each relayed where it goes."""

    def add_seller_message(
        self, seller_id: int, number: str, text: str,
        attachments: Sequence[dict[str, Any]] = (), platform_ref: tuple[str, str, str] | None = None,
        seller: Seller | None = None, moves_back: bool = True, needs_human: bool = False,
    ) -> AddedMessage:
        """A seller writes in a case. Pending or resolved cases go back in progress (rule 3).
        ``seller``: the seller's record if the caller has it already (saves reading it).
        ``moves_back`` False: the words came with an action (e.g. the reason for keeping the
        case open) and are not the answer the case waits for, so its status stays.
        ``needs_human``: the seller also asked for a person; the case is flagged in the same
        transaction (unless it is already)."""
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
            if moves_back and case.status in (d.PENDING, d.RESOLVED):
                case = self.apply_status(uow, case, d.INVESTIGATING, d.SELLER, str(seller_id),
                                         SELLER_REPLIED, now, notify_seller=False)
            else:
                case = uow.cases.update(case.id, updated_at=now)
            self.relay.post_in_thread(uow, case, text, seller.display_name, now, attachments, msg.id)
            if needs_human and not case.needs_human:
                case = self._flag_for_human(uow, case, seller_id, now)
            uow.commit()
            return AddedMessage(case, msg, previous)

    def withdraw_seller_message(self, seller_id: int, message_id: int,
                                within: timedelta) -> WithdrawnMessage:
        """The seller takes back a message just added to a case ("Undo / it's something
        else"): it leaves the case, its words stay in an audit event, the thread is told, and
        a case it had put back in progress returns to where it was if nothing happened since.
        Only the seller's own message, not the one that opened the case, within ``within``."""
        now = self.clock.now()
        with self.uow() as uow:
            msg = uow.messages.get(message_id)
            if msg is None or msg.author_kind != d.SELLER or msg.author_ref != str(seller_id):
                raise InvalidTransition("that message is not in a case any more", gone=True)
            case = uow.cases.get_for_update(msg.case_id)
            assert case is not None
            if now - msg.created_at > within:
                raise InvalidTransition(f"the message in {case.number} can no longer be undone",
                                        number=case.number, expired=True)
            first = next(iter(uow.messages.for_case(case.id, include_internal=False)), None)
            if first is not None and first.id == msg.id:
                raise InvalidTransition(f"the message opened {case.number}",
                                        number=case.number, opened=True)
            uow.routing.remove_message(msg.id)
            uow.events.add(case.id, "message_withdrawn", d.SELLER, str(seller_id),
                           f"message {msg.id}", None, msg.text, now)
            self.relay.post_in_thread(uow, case, t("thread.seller_withdrew", text=msg.text[:500]),
                                      NOTE_AUTHOR, now)
            restored = None
            moved = next((e for e in reversed(uow.events.for_case(case.id))
                          if e.kind == "status" and e.reason == SELLER_REPLIED
                          and e.created_at == msg.created_at), None)
            if (moved is not None and moved.from_value and case.status == moved.to_value
                    and case.status_changed_at == msg.created_at):
                # Nobody has acted on the case since: it waits for the seller again.
                case = self.apply_status(uow, case, moved.from_value, d.SELLER, str(seller_id),
                                         "seller took their message back", now,
                                         notify_seller=False)
                restored = moved.from_value
            uow.commit()
            return WithdrawnMessage(case, msg, restored)

    def agent_reply(
        self, number: str, agent_id: str, text: str, agent_name: str | None = None,
        from_agents_platform: bool = False, platform_message_id: str | None = None,
        attachments: Sequence[dict[str, Any]] = (), platform_channel: str | None = None,
    ) -> tuple[Case, CaseMessage]:
        """An agent answers: the reply is queued to the seller; the first response is stamped.

        ``from_agents_platform``: the reply was written in the Slack thread (so it is not posted
        there again); ``platform_message_id`` its ts, which gets a delivery reaction later;
        ``platform_channel`` the channel it was written in, which is not the case's thread any
        more when the case moved to another type's channel and the agent wrote in the old one.
        ``attachments``: files shared with the reply; each follows the text as its own item,
        and a file alone is a reply too.
        """
        text = self._clean(text)
        if not text and not attachments:
            raise InvalidInput("the reply is empty")
        now = self.clock.now()
        with self.uow() as uow:
            case = self._case(uow, number, lock=True)
            if case.status == d.DECLINED:
                raise InvalidTransition(f"{case.number} is declined; replies are not sent")
            msg = uow.messages.add(case.id, d.AGENT, agent_id, agent_name, text, attachments,
                                   False, now)
            platform = self.relay.config.agents_destination or "slack"
            shown = uow.threads.get(case.id, platform) if from_agents_platform else None
            written_in = platform_channel or (shown.channel if shown is not None else None)
            if written_in and platform_message_id and from_agents_platform:
                # So that an edit or deletion of this thread message finds the reply it became.
                uow.messages.add_ref(platform, written_in, platform_message_id, case.id, msg.id)
            changes: dict[str, Any] = {"updated_at": now}
            if case.first_response_at is None:
                changes.update(first_response_at=now, first_response_by=agent_id)
            case = uow.cases.update(case.id, **changes)
            queued: int | None = None
            with owner_speaking(uow, case):  # the agent's words as written, our frame theirs
                if text:
                    queued = self.relay.to_seller(
                        uow, case, Reply(t("agent_reply", number=case.number, text=text),
                                         case_number=case.number),
                        now, case_message_id=msg.id, agent_ts=platform_message_id,
                        agent_channel=written_in,
                    )
                if attachments and (queued is not None or not text):
                    queued = self.relay.files_to_seller(uow, case, attachments, now, msg.id)
            if queued is None:
                self.relay.post_in_thread(uow, case, t("thread.delivery_failed",
                                               error="the seller's chat does not accept messages"),
                                          NOTE_AUTHOR, now)
            if not from_agents_platform:
                self.relay.post_in_thread(
                    uow, case, t("thread.agent_reply_cli", author=agent_name or agent_id,
                                 text=text), agent_name or agent_id, now)
            if "first_response_at" in changes:
                # The first-response target's outcome, for reports (rule 11).
                due = case.first_response_due_at
                uow.events.add(case.id, "first_response", d.AGENT, agent_id, None,
                               "met" if due is None or now <= due else "missed", None, now)
                self.relay.publish_card(uow, case, now)
            uow.commit()
            return case, msg

    def resend_agent_files(self, seller_id: int, number: str, case_message_id: int) -> int:
        """The seller asks for an agent's files again (from the conversation view): queue
        them to the case's chat once more; the number queued (0: no files, or none can go)."""
        now = self.clock.now()
        with self.uow() as uow:
            case = self._owned(uow, seller_id, number)
            msg = uow.messages.get(case_message_id)
            if (msg is None or msg.case_id != case.id or msg.author_kind != d.AGENT
                    or msg.internal or not msg.attachments):
                return 0
            queued = self.relay.files_to_seller(uow, case, msg.attachments, now, msg.id) or 0
            uow.commit()
            return queued

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
            # Where the reply went: the chat the case was opened from, else the seller's first
            # (a case opened on the portal has none of its own).
            ident = self.relay.seller_chat(uow, case)
            if ident is not None and ident.blocked_at is None:
                from bot import outbox as ob

                with owner_speaking(uow, case):  # the frame in the seller's language, as sent
                    framed = t("agent_reply", number=case.number, text=text)
                uow.outbox.add(ident.channel, ob.SELLER_EDIT,
                               SellerEditPayload(address=ident.address, case_message_id=msg.id,
                                                 text=framed),
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
                self.relay.post_in_thread(uow, case, t("thread.note", author=agent_name or agent_id,
                                               text=text), agent_name or agent_id, now)
            uow.commit()
            return msg

