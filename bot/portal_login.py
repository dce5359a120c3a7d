"""One-time login links to the seller portal: `/web` in chat, a "View in browser"
button, or an email hands a seller FRONTDOOR_PUBLIC_URL + /portal/login/<token>.

A token is signed, not looked up: it carries the seller, the case to open (optional), its
expiry and a random nonce, with an HMAC under a key derived from the session secret. Issuing a
link therefore writes nothing (a chat turn or an email sweep can issue one inside its own
transaction, on SQLite too); redeeming one stores the SHA-256 of the token with a unique key,
so each link works once. A forged or altered token fails the signature ("unknown"), a
late one its expiry ("expired"), a second use the unique key ("used").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

from bot.clock import Clock, SystemClock

LINK_LIFETIME = timedelta(minutes=15)
LOGIN_PATH = "/portal/login/"

RefusalReason = Literal["used", "expired", "unknown"]


class PortalLoginStore(Protocol):
    """Where used links are remembered (storage/portal_logins.py)."""

    def mark_used(self, token_hash: str, seller_id: int, expires_at: datetime,
                  now: datetime) -> bool:
        """Record the use; False when this token was used before."""
        ...


@dataclass(frozen=True)
class LoginGranted:
    seller_id: int
    case_number: str | None


@dataclass(frozen=True)
class LoginRefused:
    reason: RefusalReason


def derive_key(secret: str, purpose: str) -> bytes:
    """A separate key per use of the one secret (links, session cookies, CSRF tokens), so a
    value made for one purpose never verifies as another."""
    return hmac.new(secret.encode(), f"frontdoor-portal:{purpose}".encode(), hashlib.sha256).digest()


def encode_b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def decode_b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class PortalLogin:
    """Issues and redeems the one-time links."""

    def __init__(self, public_url: str, secret: str, store: PortalLoginStore | None,
                 clock: Clock | None = None, lifetime: timedelta = LINK_LIFETIME) -> None:
        if not secret:
            raise ValueError("a session secret is needed to sign portal login links")
        self.public_url = public_url.rstrip("/")
        self._key = derive_key(secret, "login-link")
        self._store = store
        self.clock = clock or SystemClock()
        self.lifetime = lifetime

    def issue_token(self, seller_id: int, case_number: str | None = None) -> str:
        expires = int((self.clock.now() + self.lifetime).timestamp())
        payload = f"{seller_id}:{case_number or ''}:{expires}:{secrets.token_hex(12)}".encode()
        signature = hmac.new(self._key, payload, hashlib.sha256).digest()
        return f"{encode_b64(payload)}.{encode_b64(signature)}"

    def issue_link(self, seller_id: int, case_number: str | None = None) -> str:
        """The URL that logs ``seller_id`` in once within 15 minutes (and opens the case)."""
        return f"{self.public_url}{LOGIN_PATH}{self.issue_token(seller_id, case_number)}"

    def check(self, token: str) -> LoginGranted | LoginRefused:
        """What the token would grant, without spending it (the page asking to confirm): a
        link preview fetching the URL must not use the link up."""
        parsed = self._verify(token)
        if parsed is None:
            return LoginRefused("unknown")
        if self.clock.now() >= parsed[2]:
            return LoginRefused("expired")
        return LoginGranted(parsed[0], parsed[1])

    def redeem(self, token: str) -> LoginGranted | LoginRefused:
        """Who the token logs in, or why not. A granted token is spent."""
        if self._store is None:
            raise RuntimeError("redeeming a link needs the store of used links")
        parsed = self._verify(token)
        if parsed is None:
            return LoginRefused("unknown")
        seller_id, case_number, expires_at = parsed
        now = self.clock.now()
        if now >= expires_at:
            return LoginRefused("expired")
        if not self._store.mark_used(token_hash(token), seller_id, expires_at, now):
            return LoginRefused("used")
        return LoginGranted(seller_id, case_number)

    def _verify(self, token: str) -> tuple[int, str | None, datetime] | None:
        if len(token) > 400 or token.count(".") != 1:
            return None
        payload_text, signature_text = token.split(".")
        try:
            payload, signature = decode_b64(payload_text), decode_b64(signature_text)
        except ValueError:
            return None
        expected = hmac.new(self._key, payload, hashlib.sha256).digest()
        if not hmac.compare_digest(signature, expected):
            return None
        try:
            seller, case_number, expires, _nonce = payload.decode().split(":")
            return (int(seller), case_number or None,
                    datetime.fromtimestamp(int(expires), tz=UTC))
        except ValueError:
            return None
