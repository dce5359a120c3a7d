"""The portal's URL map: every page and form under /portal, and its static files."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from adapters.web import (
    portal_actions,
    portal_auth,
    portal_cases,
    portal_language,
    portal_new_case,
)
from adapters.web.portal_app import Portal, PortalHandler, problem_page, see_other, signed_in
from adapters.web.rendering import STATIC_DIR, browser_speaker
from bot import i18n

#: Every method a browser or a script may use: an unknown page is not found, whatever asked.
ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def portal_routes(portal: Portal) -> list[BaseRoute]:
    """The portal's routes under /portal."""
    def on(path: str, handler: PortalHandler, methods: list[str]) -> Route:
        return Route(path, signed_in(portal, handler), methods=methods)

    async def home(_request: Request) -> Response:
        return see_other("/portal/cases")

    return [
        Route("/portal", home, methods=["GET"]),
        *portal_auth.routes(portal),
        on("/portal/language", portal_language.choose_language, ["POST"]),
        on("/portal/cases", portal_cases.case_list, ["GET"]),
        on("/portal/cases/new", portal_new_case.form, ["GET"]),
        on("/portal/cases/new", portal_new_case.submit, ["POST"]),
        on("/portal/cases/{number}", portal_cases.case_page, ["GET"]),
        on("/portal/files/{file_id}", portal_cases.download, ["GET"]),
        on("/portal/cases/{number}/agent-files/{message_id}/{index}", portal_cases.agent_file,
           ["GET"]),
        *(on(f"/portal/cases/{{number}}/{name}", handler, ["POST"])
          for name, handler in portal_actions.ACTIONS.items()),
        Mount("/portal/static", StaticFiles(directory=STATIC_DIR), name="portal-static"),
    ]


def portal_not_found(portal: Portal) -> Route:
    """Any other path under /portal: the portal's own "not found" page, in the seller's
    language (the browser's before login), not the server's bare one. The composition root
    adds it after every route under /portal (the email settings page is one)."""

    async def not_found(request: Request) -> Response:
        seller_id = portal.seller_of(request)
        who = browser_speaker(request)
        if seller_id is not None:
            language, zone = await portal.call(portal.queries.language_and_zone, seller_id)
            who = i18n.speaker(language, zone) if language else who
        with i18n.speaking(who):
            return problem_page(portal, request, 404, None)

    return Route("/portal/{rest:path}", not_found, methods=ANY_METHOD)
