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
from adapters.web.session import CSRF_FIELD
from bot.portal_login import LoginGranted, LoginRefused

log = logging.getLogger(__name__)

#: A used or expired link is gone (410); a forged or mangled one was never ours (404).
REFUSAL_STATUS = {"used": 410, "expired": 410, "unknown": 404}


def routes(portal: Portal) -> list[BaseRoute]:
    async def confirm(request: Request) -> Response:
        token = request.path_params["token"]
        checked = portal.login.check(token)
        if isinstance(checked, LoginRefused):
            return _refused(portal, request, checked)
        nonce, form_token = portal.sessions.new_login_form()
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
            return portal.pages.page(request, "problem.html", status_code=403, detail=(
                "This login page has expired or was not opened in this browser. "
                "Open the link from the chat again."))
        result = await portal.call(portal.login.redeem, token)
        if isinstance(result, LoginRefused):
            return _refused(portal, request, result)
        return _logged_in(portal, result)

    async def logout(request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=5)
        submitted = form.get(CSRF_FIELD)
        if portal.sessions.current_seller(request) is not None and not portal.sessions.csrf_ok(
                request, submitted if isinstance(submitted, str) else None):
            log.warning("portal: a logout without the session's CSRF token was refused")
            return portal.pages.page(request, "problem.html", status_code=403, detail=(
                "This form has expired. Go back, reload the page and try again."))
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
    return portal.pages.page(request, "login_refused.html",
                             status_code=REFUSAL_STATUS[refused.reason], reason=refused.reason)
