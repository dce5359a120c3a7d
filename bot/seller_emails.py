"""Sellers' email addresses for notifications: what is stored, what counts as an address,
and the one-time verification tokens (only their hash is stored).

Email is optional per seller. A new address is used only once the seller opens the link
mailed to it (FRONTDOOR_PUBLIC_URL + /email/verify/<token>, one use, VERIFY_LIFETIME); until
then a previously verified address stays in use.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

# Outbox destination and kinds of email.
EMAIL = "email"
EMAIL_VERIFY = "email.verify"  # payload: to, subject, text ({link}), link{kind: verify, token}
EMAIL_REPLY = "email.reply"  # payload: to, subject, text ({link}), link{kind: login, ...}
EMAIL_EVALUATION = "email.evaluation"  # same as EMAIL_REPLY

VERIFY_PATH = "/email/verify/"
#: Where a mail's text has its link: the email sender puts the URL there when it sends (a
#: login link is made fresh then, and the public address is the sender's to know).
LINK_SLOT = "[[link]]"
VERIFY_LIFETIME = timedelta(hours=24)
MAX_ADDRESS_CHARS = 254

# A pragmatic check (what support desks accept): one @, a dotted domain, no spaces or
# angle brackets. Whether it really exists is what the verification link proves.
_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}"
                      r"[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+$")


@dataclass(frozen=True)
class SellerEmail:
    seller_id: int
    address: str | None  # verified, in use
    verified_at: datetime | None
    pending_address: str | None  # waiting for its link to be opened
    token_expires_at: datetime | None


def normalise_address(text: str) -> str | None:
    """The address as stored (domain lower-cased), or None if it is not one."""
    address = text.strip().strip("<>").strip()
    if len(address) > MAX_ADDRESS_CHARS or not _ADDRESS.match(address):
        return None
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}"


def new_token() -> tuple[str, str]:
    """A fresh verification token and the hash that is stored for it."""
    token = secrets.token_urlsafe(24)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def email_ordering_key(address: str) -> str:
    """Mails to one address go out in the order they were queued."""
    return f"{EMAIL}:to:{address.lower()}"


class SellerEmailRepository(Protocol):
    """Sellers' notification addresses (storage/email_repository.py)."""

    def get(self, seller_id: int) -> SellerEmail | None: ...
    def set_pending(self, seller_id: int, address: str, token_hash: str, expires_at: datetime,
                    now: datetime) -> None:
        """Wait for ``address`` to be verified with the token of this hash (replacing any
        earlier pending change); a verified address stays in use meanwhile."""
    def find_by_token_for_update(self, token_hash: str) -> SellerEmail | None:
        """The record whose pending change has this token, locked until the unit ends."""
    def verify(self, seller_id: int, now: datetime) -> SellerEmail:
        """The pending address becomes the one in use; its token is spent."""
    def remove(self, seller_id: int) -> bool: ...


def emails_of(uow: Any) -> SellerEmailRepository:
    """The unit of work's email repository. The SQL unit of work has one (``uow.emails``);
    it is not part of the ``UnitOfWork`` protocol so that partial units of work (a sweep's
    batch) need not carry it."""
    repository = getattr(uow, "emails", None)
    if repository is None:
        raise TypeError(f"{type(uow).__name__} has no email repository")
    return repository  # type: ignore[no-any-return]
