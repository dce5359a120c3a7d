"""Registration and invitations (rule 7): only invited sellers open cases."""

from __future__ import annotations

import secrets
from datetime import timedelta

from bot.case_rules.base import CaseServiceBase
from bot.domain import Identity, Invitation, Seller
from bot.errors import (
    InvalidInput,
    InvitationInvalid,
)

# Unambiguous characters for invitation codes (no 0/O, 1/I/L).
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def _new_invitation_code() -> str:
    """Two groups of four, like ``K7QW-93XZ``: easy to read out, and the dash makes a typed
    code recognisable as one whatever letters it happens to draw."""
    return "-".join("".join(secrets.choice(_CODE_ALPHABET) for _ in range(4)) for _ in range(2))

class RegistrationRules(CaseServiceBase):
    """Invitations and registering with one."""

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
