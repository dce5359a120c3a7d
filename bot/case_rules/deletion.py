"""An agent deletes a message they relayed to the seller: the seller's copies are
taken back where the platform allows it, and the case's thread is told what could not be.

Each part of the message that reached the seller (its text, each file) is an outbox item of
the seller's chat. One not sent (queued, or dead-lettered by an outage) is withdrawn for
good, so no operator's retry sends it either; one sent is deleted with a ``SELLER_DELETE``
item, in the chat's order and exactly once like every other item, if the platform lets a bot
delete its messages and the message is young enough (``SELLER_DELETE_WINDOWS``); otherwise the
thread says why not. The case keeps the words (a "message_deleted" event) and the seller's
history shows that the message was deleted.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot import domain as d
from bot import outbox as ob
from bot.case_rules.base import CaseServiceBase
from bot.domain import Case
from bot.outbox_payloads import SellerDeletePayload
from bot.ports import UnitOfWork
from bot.relay import NOTE_AUTHOR
from bot.texts import t

#: Platforms whose bots can delete the messages they sent, and for how long (None: always).
#: Telegram: 48 hours in a private chat (Bot API ``deleteMessage``, a file's message too);
#: Slack: ``chat.delete`` of the bot's own message and ``files.delete`` of a file it shared,
#: any time. Other channels (the console) cannot take a message back.
SELLER_DELETE_WINDOWS: dict[str, timedelta | None] = {
    ob.TELEGRAM: timedelta(hours=48),
    ob.SLACK: None,
}
_CHANNEL_NAMES = {ob.TELEGRAM: "Telegram", ob.SLACK: "Slack", ob.CONSOLE: "The console"}
#: Recorded as a withdrawn item's last error (by it, migration 0021 found the items earlier
#: versions withdrew as dead letters).
WITHDRAWN_REASON = "deleted by the agent"


class DeletionRules(CaseServiceBase):
    """An agent's relayed message deleted on the agents' side."""

    def agent_delete(self, case_message_id: int, agent_ref: str | None) -> Case | None:
        """Take the message back from the seller where possible; the case, or None if it is
        not an agent's message to the seller (a note, a seller's message, unknown)."""
        now = self.clock.now()
        with self.uow() as uow:
            msg = uow.messages.get(case_message_id)
            if msg is None or msg.author_kind != d.AGENT or msg.internal:
                return None
            # Locked: two announcements of one deletion (Slack may send a message_deleted
            # and a tombstone) take turns, and the second finds the first's event.
            case = uow.cases.get_for_update(msg.case_id)
            assert case is not None
            if any(e.kind == "message_deleted" and e.from_value == f"message {msg.id}"
                   for e in uow.events.for_case(case.id)):
                return case  # deleted before (Slack may announce it twice)
            uow.events.add(case.id, "message_deleted", d.AGENT, agent_ref, f"message {msg.id}",
                           None, msg.text, now)
            uow.messages.edit(msg.id, t("agent_message_deleted"), now)
            problems = self._take_back(uow, case, msg.id, now)
            if problems:
                self.relay.post_in_thread(uow, case, t("thread.not_deleted",
                                               reason="; ".join(dict.fromkeys(problems))),
                                          NOTE_AUTHOR, now)
            uow.commit()
            return case

    def _take_back(self, uow: UnitOfWork, case: Case, case_message_id: int,
                   now: datetime) -> list[str]:
        """Withdraw or delete each copy the seller has; why any could not be."""
        problems: list[str] = []
        withdrawn = 0
        take_backs: list[tuple[str, SellerDeletePayload, str]] = []
        for copy in uow.outbox.seller_copies(case.id, case_message_id):
            if copy.status == "dead":
                # Never reached the seller, and agents were told so: withdrawn all the same,
                # or an operator requeuing dead letters after an outage would send it.
                if not uow.outbox.withdraw(copy.item_id, WITHDRAWN_REASON, now):
                    problems.append(t("delete.in_flight"))  # requeued, and out being sent
                continue
            if copy.status == "pending":
                if uow.outbox.withdraw(copy.item_id, WITHDRAWN_REASON, now):
                    withdrawn += 1
                else:
                    problems.append(t("delete.in_flight"))
                continue
            if copy.status != "sent":
                continue  # withdrawn already
            reason = self._why_not(copy, now)
            if reason is not None or not copy.platform_chat_id or not copy.platform_message_id:
                problems.append(reason or t("delete.cannot", channel=copy.destination))
                continue
            # In the chat's order, after the copy (the chat where it landed: a Slack DM's).
            payload = SellerDeletePayload(address=copy.platform_chat_id,
                                          platform_message_id=copy.platform_message_id,
                                          case_message_id=case_message_id)
            if copy.kind == ob.SELLER_FILE:
                payload["file"] = True  # e.g. a Slack file id, not a message's ts
            take_backs.append((copy.destination, payload, copy.ordering_key))
        for destination, payload, ordering_key in take_backs:
            if problems:
                payload["partial"] = True  # the thread hears of the copy left, not "deleted"
            uow.outbox.add(destination, ob.SELLER_DELETE, payload, case.id, ordering_key, now)
        if withdrawn and not problems:
            self.relay.post_in_thread(uow, case, t("thread.withdrawn"), NOTE_AUTHOR, now)
        return problems

    @staticmethod
    def _why_not(copy: ob.SellerCopy, now: datetime) -> str | None:
        name = _CHANNEL_NAMES.get(copy.destination, copy.destination)
        if copy.destination not in SELLER_DELETE_WINDOWS:
            return t("delete.cannot", channel=name)
        window = SELLER_DELETE_WINDOWS[copy.destination]
        if window is not None and (copy.sent_at is None or now - copy.sent_at > window):
            return t("delete.too_old", channel=name, hours=int(window.total_seconds() // 3600))
        if not copy.platform_chat_id or not copy.platform_message_id:
            return t("delete.cannot", channel=name)
        return None
