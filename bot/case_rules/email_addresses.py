"""A seller's email address for notifications: given in the chat (/email) or on the portal,
used once verified by the link mailed to it (bot.seller_emails).

The verification mail is queued to the outbox in the same transaction as the pending change,
so the token stored and the link sent go together; the link itself (FRONTDOOR_PUBLIC_URL +
/email/verify/<token>) is made by the email sender.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from bot import i18n
from bot.case_rules.base import CaseServiceBase
from bot.errors import EmailOff, InvalidInput
from bot.seller_emails import (
    EMAIL,
    EMAIL_VERIFY,
    LINK_SLOT,
    VERIFY_LIFETIME,
    SellerEmail,
    email_ordering_key,
    emails_of,
    new_token,
    normalise_address,
    token_hash,
)
from bot.texts import t

VerifyRefusal = Literal["unknown", "expired"]


@dataclass(frozen=True)
class EmailVerified:
    seller_id: int
    address: str


@dataclass(frozen=True)
class EmailNotVerified:
    reason: VerifyRefusal

#: A confirmation link for the same address is mailed again only after this.
RESEND_AFTER = timedelta(minutes=2)


def _nothing_to_send(current: SellerEmail, address: str, now: datetime) -> bool:
    if current.address == address and current.pending_address is None:
        return True
    if current.pending_address != address or current.token_expires_at is None:
        return False
    return current.token_expires_at - VERIFY_LIFETIME > now - RESEND_AFTER


class EmailAddressRules(CaseServiceBase):
    """Set, verify, look up and remove a seller's notification address."""

    def request_email(self, seller_id: int, text: str) -> SellerEmail:
        """Ask to use the address in ``text``: stored as pending and a verification link
        mailed to it. Raises InvalidInput for something that is not an address. The address
        in use already, or the same one asked for within ``RESEND_AFTER``, mails nothing
        (a double tap, or someone making the bot mail a stranger over and over)."""
        if not self.rules.email_notifications:
            raise EmailOff("email notifications are not set up here")
        address = normalise_address(text)
        if address is None:
            raise InvalidInput(f"{text.strip()[:60]!r} is not an email address",
                               address=text.strip()[:60])
        now = self.clock.now()
        token, hashed = new_token()
        with self.uow() as uow:
            seller = uow.sellers.get(seller_id)
            if seller is None:
                raise InvalidInput(f"no seller {seller_id}", seller_id=seller_id)
            current = emails_of(uow).get(seller_id)
            if current is not None and _nothing_to_send(current, address, now):
                return current
            emails_of(uow).set_pending(seller_id, address, hashed, now + VERIFY_LIFETIME, now)
            with i18n.speaking_to(seller):
                payload = {
                    "to": address,
                    "subject": t("email.verify_subject"),
                    "text": t("email.verify_body", name=seller.display_name, link=LINK_SLOT,
                              hours=int(VERIFY_LIFETIME.total_seconds() // 3600)),
                    "link": {"kind": "verify", "token": token},
                }
            uow.outbox.add(EMAIL, EMAIL_VERIFY, payload, None, email_ordering_key(address), now)
            email = emails_of(uow).get(seller_id)
            uow.commit()
        assert email is not None
        return email

    def verify_email(self, token: str) -> EmailVerified | EmailNotVerified:
        """Open a verification link: the pending address is used from now on. A link works
        once, within its lifetime."""
        if not token or len(token) > 200:
            return EmailNotVerified("unknown")
        now = self.clock.now()
        with self.uow() as uow:
            found = emails_of(uow).find_by_token_for_update(token_hash(token))
            if found is None or found.pending_address is None:
                return EmailNotVerified("unknown")
            if found.token_expires_at is None or found.token_expires_at <= now:
                return EmailNotVerified("expired")
            verified = emails_of(uow).verify(found.seller_id, now)
            uow.commit()
        assert verified.address is not None
        return EmailVerified(verified.seller_id, verified.address)

    def email_of(self, seller_id: int) -> SellerEmail | None:
        with self.uow(read_only=True) as uow:
            return emails_of(uow).get(seller_id)

    def remove_email(self, seller_id: int) -> bool:
        """No more email for this seller (verified or pending); False if there was none."""
        with self.uow() as uow:
            removed = emails_of(uow).remove(seller_id)
            uow.commit()
        return removed

