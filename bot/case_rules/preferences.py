"""A seller's preferences: the language they are answered in and their time zone.

Set from the chat (/language) and meant for the seller portal's selector too; the engine
stores the language it detects for a seller who has none yet.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

from bot import i18n
from bot.case_rules.base import CaseServiceBase
from bot.domain import Case, Seller
from bot.errors import InvalidInput
from bot.ports import SellerRepository


class _KnowsSellers(Protocol):
    """A unit of work, or a sweep's batch of one (it reads the sellers per batch)."""

    @property
    def sellers(self) -> SellerRepository: ...


def owner_speaking(uow: _KnowsSellers, case: Case) -> AbstractContextManager[i18n.Speaker]:
    """Render texts in the language and zone of the seller whose case it is (for messages to
    them outside their own turn: an agent's status change, a reminder)."""
    return i18n.speaking_to(uow.sellers.get(case.seller_id))


class PreferenceRules(CaseServiceBase):
    """The seller's language and time zone."""

    def set_preferences(self, seller_id: int, language: str | None = None,
                        time_zone: str | None = None) -> Seller:
        """Store ``language`` (one of ``bot.i18n.LANGUAGES``) and/or ``time_zone`` (an IANA
        name); None leaves that one unchanged. Raises InvalidInput for an unknown one."""
        if language is not None and language not in i18n.LANGUAGES:
            raise InvalidInput(f"unknown language {language!r}; use one of "
                               f"{', '.join(i18n.LANGUAGES)}", language=language)
        if time_zone is not None and not i18n.valid_time_zone(time_zone):
            raise InvalidInput(f"unknown time zone {time_zone!r}", time_zone=time_zone)
        with self.uow() as uow:
            if uow.sellers.get(seller_id) is None:
                raise InvalidInput(f"no seller {seller_id}", seller_id=seller_id)
            uow.sellers.set_preferences(seller_id, language, time_zone)
            seller = uow.sellers.get(seller_id)
            uow.commit()
        assert seller is not None
        return seller
