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
from bot.identifiers import fold_full_width

# Unambiguous characters for invitation codes (no 0/O, 1/I/L).
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def _new_invitation_code() -> str:
    """Two groups of four, like ``K7QW-93XZ``: easy to read out, and the dash makes a typed
    code recognisable as one whatever letters it happens to draw."""
    return "-".join("".join(secrets.choice(_CODE_ALPHABET) for _ in range(4)) for _ in range(2))

#: How long a /link code works: long enough to switch apps, short enough not to linger.
LINK_CODE_LIFETIME = timedelta(minutes=15)
#: ``created_by`` of a /link code: the seller whose channels it extends.
_LINK_CREATOR = "link:seller:"


def _link_owner(created_by: str | None) -> int | None:
    if created_by and created_by.startswith(_LINK_CREATOR):
        rest = created_by[len(_LINK_CREATOR):]
        return int(rest) if rest.isdigit() else None
    return None


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
            if code and uow.invitations.existing_codes([code.upper()]):
                raise InvalidInput(f"the invitation code {code.upper()} is taken; choose another")
            code = (code or _new_invitation_code()).upper()
            inv = uow.invitations.add(
                code, seller_name.strip()[:200] or "Seller", merchant_id,
                now + timedelta(days=days or self.rules.invitation_days), created_by, now,
            )
            uow.commit()
            return inv

    def create_link_code(self, seller_id: int) -> Invitation:
        """A one-time code (15 minutes) that attaches another channel's user to ``seller_id``
        when redeemed there, like an invitation; kept as an invitation row (no schema change):
        its creator names the seller, so redeeming it never makes a new seller."""
        now = self.clock.now()
        with self.uow() as uow:
            seller = uow.sellers.get(seller_id)
            if seller is None:
                raise InvalidInput(f"no seller with id {seller_id}")
            inv = uow.invitations.add(
                "LINK-" + _new_invitation_code(), seller.display_name, seller.merchant_id,
                now + LINK_CODE_LIFETIME, f"{_LINK_CREATOR}{seller.id}", now)
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
            # Full-width forms folded: a Chinese input method types "ＺＤＲＷ－ＧＥＺＭ".
            inv = uow.invitations.get_by_code_for_update(fold_full_width(code).strip().upper())
            if inv is None:
                raise InvitationInvalid("that invitation code does not exist")
            if inv.used_by_seller_id is not None:
                raise InvitationInvalid("that invitation code has already been used")
            if inv.expires_at < now:
                raise InvitationInvalid("that invitation code has expired")
            owner = _link_owner(uow.invitations.creator_of(inv.id))
            if owner is not None:  # a /link code: this channel joins that seller
                seller = uow.sellers.get(owner)
                if seller is None:
                    raise InvitationInvalid("that link code's seller is gone")
                uow.identities.link_seller(ident.id, seller.id)
                uow.invitations.mark_used(inv.id, seller.id, now)
                uow.commit()
                return seller
            seller = uow.sellers.add(inv.merchant_id, inv.seller_name, now)
            uow.identities.link_seller(ident.id, seller.id)
            uow.invitations.mark_used(inv.id, seller.id, now)
            uow.commit()
            return seller
