"""Read-only look-ups the dialogue needs to place a message in the right case."""

from __future__ import annotations

from bot.case_rules.base import CaseServiceBase
from bot.routing_port import RelayedItem


class ConversationLookups(CaseServiceBase):
    """Which case a platform message, or a chat's latest relayed message, belongs to."""

    def case_for_platform_message(self, channel: str, address: str, message_id: str,
                                  seller_id: int) -> str | None:
        """The number of the seller's case a platform message belongs to (a relayed agent
        reply or an earlier seller message), or None. Another seller's case is never
        returned."""
        with self.uow(read_only=True) as uow:
            ref = uow.messages.find_ref(channel, address, message_id)
            if ref is None:
                return None
            case = uow.cases.get(ref[0])
            if case is None or case.seller_id != seller_id:
                return None
            return case.number

    def last_relayed(self, channel: str, address: str) -> RelayedItem | None:
        """The newest case-bound message queued to this chat (see bot.routing_port)."""
        with self.uow(read_only=True) as uow:
            return uow.routing.last_relayed(channel, f"{channel}:chat:{address}")

    def order_of(self, number: str, seller_id: int) -> str | None:
        """The order id of the seller's case ``number`` (None: none, or not theirs)."""
        with self.uow(read_only=True) as uow:
            case = uow.cases.get_by_number(number)
            return case.order_id if case is not None and case.seller_id == seller_id else None
