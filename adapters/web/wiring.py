"""The factory `frontdoor serve` calls for the seller portal: its routes, the session on
``app.state``, the larger body cap for its forms with files, and the file source through
which the Slack sender copies portal uploads into case threads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from starlette.routing import BaseRoute

from adapters.files import UrlFileSource
from adapters.web.portal_app import Portal, PortalQueries
from adapters.web.portal_routes import portal_routes
from adapters.web.rendering import PageRenderer, too_large_words
from adapters.web.session import PortalSessions
from adapters.web.uploads import MAX_FILES, PortalFileSource
from bot.cases import CaseService
from bot.clock import Clock, SystemClock
from bot.knowledge import KnowledgeBase
from bot.portal_login import PortalLogin


@dataclass
class PortalParts:
    routes: list[BaseRoute]
    state: dict[str, Any]
    body_limits: dict[str, int]
    # Words for a body refused over its cap, per path prefix (frontdoor.body_limit).
    body_refusals: dict[str, Callable[[str, int], str]]
    file_source: PortalFileSource
    portal: Portal
    extra: dict[str, Any] = field(default_factory=dict)


def build_portal(*, cases: CaseService, queries: PortalQueries, login: PortalLogin,
                 secret: str, public_url: str, session_hours: float, brand: str,
                 case_prefix: str, knowledge: KnowledgeBase, max_file_bytes: int,
                 clock: Clock | None = None, agent_files: UrlFileSource | None = None,
                 ) -> PortalParts:
    clock = clock or SystemClock()
    sessions = PortalSessions(secret, public_url, timedelta(hours=session_hours), clock)
    portal = Portal(cases=cases, queries=queries, login=login, sessions=sessions,
                    pages=PageRenderer(brand), knowledge=knowledge, case_prefix=case_prefix,
                    max_file_bytes=max_file_bytes, clock=clock, agent_files=agent_files)
    # A form may carry MAX_FILES files at the per-file limit, plus its text fields.
    upload_cap = MAX_FILES * max_file_bytes + 1_000_000
    return PortalParts(
        routes=portal_routes(portal), state={"portal_sessions": sessions},
        body_limits={"/portal/cases/": upload_cap},
        body_refusals={"/portal": too_large_words},
        file_source=PortalFileSource(queries, max_file_bytes), portal=portal)
