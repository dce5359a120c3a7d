"""What a delivery's result means, recorded with it in one transaction.

The dispatcher hands every result here. A sent item leaves its platform ids where later
messages need them: a case's first parent message becomes the case's agent thread, a message
to a seller or into a thread is remembered so that a reply to it or an edit of it finds the
case, and an agent's message delivered to the seller gets a ✅ in the thread. A dead item is
told to the agents: a reply the seller never got, a file never copied; and a chat that blocked
the bot is marked so, with its queued messages given up.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot import outbox as ob
from bot.outbox import Delivery, DeliveryResult, OutboundItem
from bot.ports import UnitOfWork, UnitOfWorkFactory
from bot.relay import NOTE_AUTHOR, Relay
from bot.round_robin import Roster, RoundRobin
from bot.texts import t


class DeliveryOutcomes:
    def __init__(self, uow_factory: UnitOfWorkFactory, relay: Relay,
                 round_robin: RoundRobin | None = None) -> None:
        self.uow = uow_factory
        self.relay = relay
        # Assigns from the agents' pool the platform reported (ASSIGN_NEXT items).
        self.round_robin = round_robin

    def record_many(self, deliveries: Sequence[Delivery]) -> None:
        """Store each delivery's result (sent, due again at ``retry_at``, or dead) and its
        consequences, all in one transaction: all or none. Recording the same delivery twice
        changes nothing the second time."""
        with self.uow() as uow:
            for d in deliveries:
                if not uow.outbox.complete(d.item.id, d.attempts, d.result, d.now,
                                           d.retry_at, d.dead):
                    continue  # recorded already (an earlier try whose answer was lost)
                if d.result.ok:
                    self._sent(uow, d.item, d.result, d.now)
                elif d.dead:
                    self._dead(uow, d.item, d.result, d.now)
            uow.commit()

    def _sent(self, uow: UnitOfWork, item: OutboundItem, result: DeliveryResult,
              now: datetime) -> None:
        if item.case_id is None:
            return
        chat, msg_id = result.platform_chat_id, result.platform_message_id
        if item.kind == ob.ASSIGN_NEXT:
            if self.round_robin is not None:
                self.round_robin.assign_from(uow, item.case_id, str(item.payload["group"]),
                                             str(item.payload.get("reason") or ""),
                                             Roster.from_extra(result.extra), now)
            return
        if item.kind == ob.SELLER_DELETE:
            case = uow.cases.get(item.case_id)
            if case is not None and not item.payload.get("partial") \
                    and self._all_taken_back(uow, item):
                # The agent sees it worked, as a ✅ shows a delivery.
                self.relay.post_in_thread(uow, case, t("thread.deleted_for_seller"), NOTE_AUTHOR, now)
            return
        if item.kind == ob.CASE_PARENT and item.thread is None and chat and msg_id:
            # The case's first parent on this platform: where agents see it from now on.
            uow.threads.add(item.case_id, item.destination, chat, msg_id)
        elif item.kind in (ob.SELLER_MESSAGE, ob.SELLER_FILE, ob.THREAD_POST) and chat and msg_id:
            # Remember where it landed: a seller's reply to it, or an edit, finds the case.
            uow.messages.add_ref(item.destination, chat, msg_id, item.case_id,
                                 item.payload.get("case_message_id"))
        if item.kind == ob.SELLER_MESSAGE and item.payload.get("agent_ts"):
            case = uow.cases.get(item.case_id)
            if case is not None:
                channel = item.payload.get("agent_channel")
                self.relay.reaction(uow, case, str(item.payload["agent_ts"]),
                                    "white_check_mark", now,
                                    str(channel) if channel else None)

    @staticmethod
    def _all_taken_back(uow: UnitOfWork, item: OutboundItem) -> bool:
        """Whether this was the last of a message's take-backs, all done. A reply with files
        has one copy per part (its words, each file) and one take-back each: the agent gets
        one note for the message, when the last is recorded, and none if one failed (that
        one said so; a copy that could not be asked to go at all is told when the deletion is
        queued, and marks the take-backs ``partial``)."""
        message_id = item.payload.get("case_message_id")
        if item.case_id is None or message_id is None:
            return True
        return not any(status in ("pending", "dead") for item_id, status
                       in uow.outbox.take_backs(item.case_id, int(message_id)).items()
                       if item_id != item.id)

    def _dead(self, uow: UnitOfWork, item: OutboundItem, result: DeliveryResult,
              now: datetime) -> None:
        if item.kind == ob.THREAD_FILE:
            self._file_not_copied(uow, item, result, now)
            return
        if item.kind == ob.SELLER_DELETE:
            # Too old after all, or the seller's chat is gone: the seller still has it.
            case = uow.cases.get(item.case_id) if item.case_id is not None else None
            if case is not None:
                self.relay.post_in_thread(uow, case, t("thread.not_deleted",
                                               reason=result.error or "unknown error"),
                                          NOTE_AUTHOR, now)
            return
        if item.kind == ob.ASSIGN_NEXT:
            # E.g. the group does not exist or a scope is missing: agents assign by hand.
            case = uow.cases.get(item.case_id) if item.case_id is not None else None
            if case is not None:
                self.relay.post_in_thread(uow, case, t("thread.assign_failed",
                                               error=result.error or "unknown error"),
                                          NOTE_AUTHOR, now)
            return
        if item.kind not in (ob.SELLER_MESSAGE, ob.SELLER_EDIT, ob.SELLER_FILE):
            return
        unreachable = bool(result.extra.get("unreachable")) if result.extra else False
        if result.permanent and unreachable:
            identity = uow.identities.find_by_address(item.destination,
                                                      str(item.payload.get("address")))
            if identity is not None:
                uow.identities.set_blocked(identity.id, now)
                # Stop queued messages to that chat too: nothing retries forever.
                uow.outbox.drop_pending_of_chat(item.id, "chat blocked the bot")
        case = uow.cases.get(item.case_id) if item.case_id is not None else None
        if case is None:
            return
        key = "thread.blocked" if unreachable else "thread.delivery_failed"
        if item.kind == ob.SELLER_FILE and not unreachable:
            key = "thread.file_not_sent"
        attachment = item.payload.get("attachment") or {}
        name = attachment.get("file_name") or attachment.get("kind") or "file"
        self.relay.post_in_thread(
            uow, case, t(key, channel=item.destination, name=name,
                         error=result.error or "unknown error"),
            NOTE_AUTHOR, now,
        )

    def _file_not_copied(self, uow: UnitOfWork, item: OutboundItem, result: DeliveryResult,
                         now: datetime) -> None:
        """A seller's file that kept failing to copy: say so in the thread, so agents know
        to look at the file's details (posted above it) or ask the seller again."""
        case = uow.cases.get(item.case_id) if item.case_id is not None else None
        if case is None:
            return
        attachment = item.payload.get("attachment") or {}
        name = attachment.get("file_name") or attachment.get("kind") or "file"
        self.relay.post_in_thread(uow, case, t("thread.file_not_copied", name=name,
                                       attempts=item.attempts + 1,
                                       error=result.error or "unknown error"),
                                  NOTE_AUTHOR, now)
