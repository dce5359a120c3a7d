"""Logging in with a one-time link, and out.

Opening a link shows a page with a "Log in" button and spends nothing: chat apps fetch links
to preview them, and that fetch must not use the seller's link up. The button POSTs the token
back (with a login-CSRF token), which redeems it and starts the session.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from adapters.web.portal_app import Portal, see_other
from adapters.web.rendering import browser_speaker
from adapters.web.session import CSRF_FIELD
from bot import i18n
from bot.portal_login import LoginGranted, LoginRefused
from bot.texts import t

log = logging.getLogger(__name__)

#: A used or expired link is gone (410); a forged or mangled one was never ours (404).
REFUSAL_STATUS = {"used": 410, "expired": 410, "unknown": 404}


async def _speaker_of(portal: Portal, seller_id: int | None, request: Request) -> i18n.Speaker:
    """The seller's stored language when we know who they are (the link's seller, the session's
    before logging out), else the browser's."""
    if seller_id is not None:
        language, zone = await portal.call(portal.queries.language_and_zone, seller_id)
        if language is not None:
            return i18n.speaker(language, zone)
    return browser_speaker(request)


def routes(portal: Portal) -> list[BaseRoute]:
    async def confirm(request: Request) -> Response:
        token = request.path_params["token"]
        checked = portal.login.check(token)
        if isinstance(checked, LoginRefused):
            return _refused(portal, request, checked)
        nonce, form_token = portal.sessions.new_login_form()
        with i18n.speaking(await _speaker_of(portal, checked.seller_id, request)):
            response = portal.pages.page(request, "login_confirm.html", token=token,
                                         login_csrf=form_token, case_number=checked.case_number)
        portal.sessions.set_login_cookie(response, nonce)
        return response

    async def redeem(request: Request) -> Response:
        token = request.path_params["token"]
        form = await request.form(max_files=0, max_fields=5)
        submitted = form.get(CSRF_FIELD)
        if not portal.sessions.login_form_ok(request, submitted if isinstance(submitted, str)
                                             else None):
            log.warning("portal: a login form without its login-CSRF token was refused")
            with i18n.speaking(browser_speaker(request)):
                return portal.pages.page(request, "problem.html", status_code=403,
                                         detail=t("portal.login_form_expired"))
        result = await portal.call(portal.login.redeem, token)
        if isinstance(result, LoginRefused):
            return _refused(portal, request, result)
        return _logged_in(portal, result)

    async def logout(request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=5)
        submitted = form.get(CSRF_FIELD)
        seller_id = portal.sessions.current_seller(request)
        with i18n.speaking(await _speaker_of(portal, seller_id, request)):
            if seller_id is not None and not portal.sessions.csrf_ok(
                    request, submitted if isinstance(submitted, str) else None):
                log.warning("portal: a logout without the session's CSRF token was refused")
                return portal.pages.page(request, "problem.html", status_code=403,
                                         detail=t("portal.form_expired"))
            response = portal.pages.page(request, "logged_out.html", seller=None, csrf=None)
        portal.sessions.end(response)
        return response

    return [
        Route("/portal/login/{token}", confirm, methods=["GET"]),
        Route("/portal/login/{token}", redeem, methods=["POST"]),
        Route("/portal/logout", logout, methods=["POST"]),
    ]


def _logged_in(portal: Portal, granted: LoginGranted) -> Response:
    target = (f"/portal/cases/{granted.case_number}" if granted.case_number
              else "/portal/cases")
    response = see_other(target)
    portal.sessions.start(response, granted.seller_id)
    portal.sessions.end_login_form(response)
    log.info("portal: seller %s logged in", granted.seller_id)
    return response


def _refused(portal: Portal, request: Request, refused: LoginRefused) -> Response:
    log.info("portal: a login link was refused (%s)", refused.reason)
    with i18n.speaking(browser_speaker(request)):
        return portal.pages.page(
            request, "login_refused.html", status_code=REFUSAL_STATUS[refused.reason],
            reason=refused.reason, link_minutes=int(portal.login.lifetime.total_seconds() // 60),
            view_in_browser=t("button.view_in_browser"))
