"""The web side of email notifications: the verification link's page
(``GET /email/verify/<token>``, no login needed: the link is the proof) and the portal's small
form (``/portal/email``) where a logged-in seller gives, changes or removes the address. The
portal's pages link to it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from adapters.web.rendering import PageRenderer, browser_speaker
from bot import i18n
from bot.case_rules.email_addresses import EmailNotVerified, EmailVerified
from bot.errors import InvalidInput
from bot.seller_emails import VERIFY_LIFETIME, VERIFY_PATH, SellerEmail
from bot.texts import t

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
SETTINGS_PATH = "/portal/email"
#: A seller's stored language and time zone (storage.portal_queries), for the pages' words.
LanguageOf = Callable[[int], tuple[str | None, str | None]]


class EmailAddresses(Protocol):
    """The case service's email address rules (bot.case_rules.email_addresses)."""

    def request_email(self, seller_id: int, text: str) -> SellerEmail: ...
    def verify_email(self, token: str) -> EmailVerified | EmailNotVerified: ...
    def email_of(self, seller_id: int) -> SellerEmail | None: ...
    def remove_email(self, seller_id: int) -> bool: ...


class EmailRoutes:
    def __init__(self, addresses: EmailAddresses, brand: str, unread_minutes: float,
                 seller_of: Callable[[Request], int | None],
                 csrf_ok: Callable[[Request, str | None], bool],
                 language_of: LanguageOf | None = None) -> None:
        self.addresses = addresses
        self.language_of = language_of
        self.renderer = PageRenderer(brand, extra_dirs=[TEMPLATES])
        self.unread_minutes = unread_minutes
        self.seller_of = seller_of
        self.csrf_ok = csrf_ok

    def routes(self) -> list[Route]:
        return [Route(VERIFY_PATH + "{token}", self.verify, methods=["GET"]),
                Route(SETTINGS_PATH, self.settings, methods=["GET", "POST"])]

    async def _speaker(self, request: Request, seller_id: int | None) -> i18n.Speaker:
        """The seller's stored language when we know them, else the browser's."""
        if seller_id is not None and self.language_of is not None:
            language, zone = await asyncio.to_thread(self.language_of, seller_id)
            if language is not None:
                return i18n.speaker(language, zone)
        return browser_speaker(request)

    async def verify(self, request: Request) -> Response:
        token = str(request.path_params["token"])
        result = await asyncio.to_thread(self.addresses.verify_email, token)
        if isinstance(result, EmailVerified):
            log.info("seller %s verified an email address", result.seller_id)
            with i18n.speaking(await self._speaker(request, result.seller_id)):
                return self.renderer.page(request, "email_verified.html",
                                          address=result.address)
        log.info("email verification link refused: %s", result.reason)
        with i18n.speaking(await self._speaker(request, self.seller_of(request))):
            return self.renderer.page(
                request, "email_verified.html", status_code=410 if result.reason == "expired"
                else 404, address=None, reason=result.reason,
                hours=int(VERIFY_LIFETIME.total_seconds() // 3600))

    async def settings(self, request: Request) -> Response:
        seller_id = self.seller_of(request)
        with i18n.speaking(await self._speaker(request, seller_id)):
            return await self._settings(request, seller_id)

    async def _settings(self, request: Request, seller_id: int | None) -> Response:
        if seller_id is None:
            log.info("email settings without a portal session")
            return self.renderer.page(request, "email_verified.html", status_code=401,
                                      address=None, reason="login",
                                      problems=[t("email.page_log_in")])
        if request.method == "GET":
            return await self._form(request, seller_id)
        # Three short fields, no files: anything more is refused (400) by the form parser.
        form = await request.form(max_files=0, max_fields=10, max_part_size=10_000)
        if not self.csrf_ok(request, _field(form, "csrf_token")):
            log.info("email settings of seller %s refused: bad CSRF token", seller_id)
            return await self._form(request, seller_id, status_code=403,
                                    problems=[t("email.page_expired_form")])
        if _field(form, "action") == "remove":
            await asyncio.to_thread(self.addresses.remove_email, seller_id)
            return RedirectResponse(f"{SETTINGS_PATH}?removed=1", status_code=303)
        typed = (_field(form, "address") or "").strip()
        try:
            await asyncio.to_thread(self.addresses.request_email, seller_id, typed)
        except InvalidInput:
            log.info("email settings of seller %s: not an address", seller_id)
            return await self._form(request, seller_id, status_code=400, typed=typed,
                                    invalid=t("email.page_invalid", text=typed[:80]))
        return RedirectResponse(f"{SETTINGS_PATH}?sent=1", status_code=303)

    async def _form(self, request: Request, seller_id: int, status_code: int = 200,
                    **values: Any) -> Response:
        email = await asyncio.to_thread(self.addresses.email_of, seller_id)
        notices = []
        if request.query_params.get("sent"):
            notices.append(t("email.page_sent"))
        if request.query_params.get("removed"):
            notices.append(t("email.page_removed"))
        values.setdefault("typed", "")
        values.setdefault("invalid", None)
        return self.renderer.page(request, "email_settings.html", status_code=status_code,
                                  email=email, unread_minutes=f"{self.unread_minutes:g}",
                                  notices=notices, nav="email", **values)


def _field(form: Any, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None
