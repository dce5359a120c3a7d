"""The seller portal's routes, built from what the composition root hands over.

Every page works on the logged-in seller's own cases through the case service (the same
rules as the chat); a case or file that is not theirs is answered 404, like one that does not
exist. Every form carries the session's CSRF token; a POST without it is refused (403).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property, partial
from typing import Any, Protocol, TypeVar

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from adapters.files import UrlFileSource
from adapters.web.rendering import PageRenderer, browser_speaker
from adapters.web.session import CSRF_FIELD, PortalSessions
from adapters.web.uploads import FileStore
from bot import i18n
from bot.cases import CaseService
from bot.clock import Clock, SystemClock
from bot.dialogue.cleaning import clean_text
from bot.domain import Case
from bot.identifiers import normalise_case_number
from bot.knowledge import KnowledgeBase
from bot.once import OnceRunner
from bot.portal_login import PortalLogin
from bot.texts import t

log = logging.getLogger(__name__)

#: The source of the claims of portal form submissions (processed_events.source).
PORTAL_SOURCE = "portal"
T = TypeVar("T")
#: A form field other than a file (a description is at most 4,000 characters).
MAX_FIELD_BYTES = 64_000


class CasesPageView(Protocol):
    @property
    def cases(self) -> Sequence[Case]: ...
    @property
    def unread(self) -> dict[int, int]: ...
    @property
    def total(self) -> int: ...


class PortalQueries(FileStore, Protocol):
    """What the portal reads beyond the case service (storage/portal_queries.py)."""

    def cases_page(self, seller_id: int, statuses: Sequence[str] | None, query: str | None,
                   number: str | None, offset: int, limit: int) -> CasesPageView: ...
    def numbers_of(self, seller_id: int, case_ids: Sequence[int]) -> dict[int, str]: ...
    def language_and_zone(self, seller_id: int) -> tuple[str | None, str | None]: ...


@dataclass
class Portal:
    """Everything the portal's handlers share."""

    cases: CaseService
    queries: PortalQueries
    login: PortalLogin
    sessions: PortalSessions
    pages: PageRenderer
    knowledge: KnowledgeBase
    case_prefix: str = "CX"
    max_file_bytes: int = 20_000_000
    page_size: int = 25
    clock: Clock = field(default_factory=SystemClock)
    #: Fetches the files agents share in Slack threads (their URLs need the bot token), for
    #: the seller to download here; None without Slack.
    agent_files: UrlFileSource | None = None

    @cached_property
    def once(self) -> OnceRunner:
        """Claims of form submissions (adapters.web.portal_once)."""
        return OnceRunner(self.cases.uow, self.cases.clock, PORTAL_SOURCE)

    async def call(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Blocking case-service or storage work, off the event loop."""
        return await asyncio.to_thread(partial(func, *args, **kwargs))

    def now(self) -> datetime:
        return self.clock.now()

    def seller_of(self, request: Request) -> int | None:
        return self.sessions.current_seller(request)

    def case_number(self, text: str) -> str | None:
        return normalise_case_number(text, self.case_prefix)

    async def checked_form(self, request: Request) -> FormData:
        """The POSTed form, if it carries this session's CSRF token (else 403). Its text
        fields are cleaned as the chat cleans what sellers type: a NUL (which PostgreSQL
        refuses) or another control character sent by a script never reaches the store."""
        form = await request.form(max_files=10, max_fields=50,
                                  max_part_size=MAX_FIELD_BYTES)
        submitted = form.get(CSRF_FIELD)
        if not self.sessions.csrf_ok(request, submitted if isinstance(submitted, str) else None):
            log.warning("portal: %s %s refused: missing or wrong CSRF token", request.method,
                        request.url.path)
            raise Refusal(403, "portal.form_expired")
        return FormData([(name, clean_text(value) if isinstance(value, str) else value)
                         for name, value in form.multi_items()])


class Refusal(HTTPException):
    """A refusal whose ``detail`` is written for the seller (a catalogue text, in their
    language): the problem page shows it. Other HTTP errors (starlette's own, in English for
    developers) are shown with the page's words for their status."""

    def __init__(self, status_code: int, key: str, **values: Any) -> None:
        super().__init__(status_code, t(key, **values))


PortalHandler = Callable[[Portal, Request, int], Awaitable[Response]]


def signed_in(portal: Portal, handler: PortalHandler) -> Callable[[Request], Awaitable[Response]]:
    """``handler`` for a logged-in seller; others get the page saying how to log in."""

    async def endpoint(request: Request) -> Response:
        seller_id = portal.seller_of(request)
        if seller_id is None:
            log.info("portal: %s %s answered 401: no valid session", request.method,
                     request.url.path[:200])
            with i18n.speaking(browser_speaker(request)):
                return portal.pages.page(request, "login_needed.html", status_code=401)
        # The pages' words, dates and times in the seller's stored language and time zone.
        language, zone = await portal.call(portal.queries.language_and_zone, seller_id)
        with i18n.speaking(i18n.speaker(language, zone)):
            try:
                return await handler(portal, request, seller_id)
            except HTTPException as exc:
                return problem_page(portal, request, exc.status_code,
                                    exc.detail if isinstance(exc, Refusal) else None)

    return endpoint


def problem_page(portal: Portal, request: Request, status_code: int,
                 detail: str | None) -> Response:
    """A page saying what went wrong (404 for another seller's case or file, too), in the
    language the request speaks: ``detail`` if it is written for the seller, else the
    words for the status."""
    log.info("portal: %s %s answered %s: %s", request.method, request.url.path, status_code,
             detail)
    if status_code == 404:
        detail = t("portal.not_found")
    elif detail is None:
        detail = t("portal.bad_request")
    return portal.pages.page(request, "problem.html", status_code=status_code, detail=detail)


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)
