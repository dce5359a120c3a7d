"""The portal's session: a signed cookie naming the seller, and the CSRF tokens of its forms.

The cookie holds ``seller:issued:expires:nonce`` and an HMAC-SHA256 of it under a key derived
from FRONTDOOR_SESSION_SECRET (bot.portal_login.derive_key); nothing is stored server-side.
It is HttpOnly, SameSite=Lax, Secure when the portal's public URL is https, and lives
FRONTDOOR_SESSION_HOURS. A form's CSRF token is an HMAC of the session's nonce under another
derived key: it is valid for that session only, and a new login makes a new one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response

from bot.clock import Clock, SystemClock
from bot.portal_login import decode_b64, derive_key, encode_b64

COOKIE_NAME = "frontdoor_portal"
CSRF_FIELD = "csrf_token"
MIN_SECRET_CHARS = 32
LOGIN_COOKIE = "frontdoor_login"
LOGIN_FORM_SECONDS = 15 * 60


class PortalSessions:
    """Starts, reads and ends sessions; makes and checks CSRF tokens."""

    def __init__(self, secret: str, public_url: str, lifetime: timedelta,
                 clock: Clock | None = None) -> None:
        if len(secret) < MIN_SECRET_CHARS:
            raise ValueError(f"the session secret must be at least {MIN_SECRET_CHARS} characters")
        self._cookie_key = derive_key(secret, "session-cookie")
        self._csrf_key = derive_key(secret, "csrf")
        self.secure = public_url.lower().startswith("https://")
        self.lifetime = lifetime
        self.clock = clock or SystemClock()

    # The cookie ---------------------------------------------------------------------------
    def start(self, response: Response, seller_id: int) -> None:
        now = int(self.clock.now().timestamp())
        expires = now + int(self.lifetime.total_seconds())
        payload = f"{seller_id}:{now}:{expires}:{secrets.token_hex(12)}".encode()
        value = f"{encode_b64(payload)}.{encode_b64(self._sign(payload))}"
        response.set_cookie(COOKIE_NAME, value, max_age=int(self.lifetime.total_seconds()),
                            path="/", httponly=True, samesite="lax", secure=self.secure)

    def end(self, response: Response) -> None:
        response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="lax",
                               secure=self.secure)

    def _read(self, request: Request) -> tuple[int, str] | None:
        """(seller id, nonce) of a valid, unexpired session cookie."""
        value = request.cookies.get(COOKIE_NAME)
        if not value or len(value) > 400 or value.count(".") != 1:
            return None
        payload_text, signature_text = value.split(".")
        try:
            payload, signature = decode_b64(payload_text), decode_b64(signature_text)
            if not hmac.compare_digest(signature, self._sign(payload)):
                return None
            seller, _issued, expires, nonce = payload.decode().split(":")
            if int(expires) <= self.clock.now().timestamp():
                return None
            return int(seller), nonce
        except ValueError:
            return None

    def current_seller(self, request: Request) -> int | None:
        session = self._read(request)
        return session[0] if session else None

    # CSRF ---------------------------------------------------------------------------------
    def csrf_token(self, request: Request) -> str | None:
        """The token every form of this session carries (None without a session)."""
        session = self._read(request)
        if session is None:
            return None
        return encode_b64(hmac.new(self._csrf_key, session[1].encode(), hashlib.sha256).digest())

    def csrf_ok(self, request: Request, submitted: str | None) -> bool:
        expected = self.csrf_token(request)
        if not expected or not submitted:
            return False
        return hmac.compare_digest(expected.encode(), submitted.encode())

    # Login CSRF: the form confirming a login link has no session yet. Its token is bound to
    # a random value in a SameSite cookie set with the form, so another site cannot make a
    # browser log in (to the other site's account) by posting a link of its own.
    def new_login_form(self) -> tuple[str, str]:
        """(the cookie's value, the form's token) for a login form."""
        nonce = secrets.token_urlsafe(16)
        return nonce, self._login_token(nonce)

    def set_login_cookie(self, response: Response, nonce: str) -> None:
        response.set_cookie(LOGIN_COOKIE, nonce, max_age=LOGIN_FORM_SECONDS, path="/portal/login",
                            httponly=True, samesite="lax", secure=self.secure)

    def login_form_ok(self, request: Request, submitted: str | None) -> bool:
        nonce = request.cookies.get(LOGIN_COOKIE)
        if not nonce or not submitted or len(nonce) > 100:
            return False
        return hmac.compare_digest(self._login_token(nonce).encode(), submitted.encode())

    def end_login_form(self, response: Response) -> None:
        response.delete_cookie(LOGIN_COOKIE, path="/portal/login", httponly=True,
                               samesite="lax", secure=self.secure)

    def _login_token(self, nonce: str) -> str:
        return encode_b64(hmac.new(self._csrf_key, f"login:{nonce}".encode(),
                                   hashlib.sha256).digest())

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._cookie_key, payload, hashlib.sha256).digest()


def sessions_of(request: Request) -> PortalSessions | None:
    """The app's sessions (set on ``app.state.portal_sessions`` when the portal is on)."""
    return getattr(request.app.state, "portal_sessions", None)


def current_seller(request: Request) -> int | None:
    """The logged-in seller of this request, or None (no portal, no or a bad cookie)."""
    sessions = sessions_of(request)
    return sessions.current_seller(request) if sessions else None


def csrf_token(request: Request) -> str | None:
    sessions = sessions_of(request)
    return sessions.csrf_token(request) if sessions else None


def csrf_ok(request: Request, submitted: str | None) -> bool:
    """Whether ``submitted`` is this session's CSRF token (False without a session)."""
    sessions = sessions_of(request)
    return sessions.csrf_ok(request, submitted) if sessions else False
