"""Small read-only lookups the dialogue needs that the case service does not offer."""

from __future__ import annotations

from bot.ports import UnitOfWorkFactory


def case_for_platform_message(uow_factory: UnitOfWorkFactory, channel: str, address: str,
                              message_id: str, seller_id: int) -> str | None:
    """The number of the seller's case a platform message belongs to (a relayed agent reply
    or an earlier seller message), or None. Another seller's case is never returned."""
    with uow_factory(read_only=True) as uow:
        ref = uow.messages.find_ref(channel, address, message_id)
        if ref is None:
            return None
        case = uow.cases.get(ref[0])
        if case is None or case.seller_id != seller_id:
            return None
        return case.number
