"""A seller in the portal over HTTP, for the portal's tests: the server with the portal on, a
login by a link as the bot would send it, and a form's CSRF token."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy import func, select

from storage.database import Database
from storage.models import PortalFileRow
from tests.integration.serve_relay_support import Served, TelegramSeller, serving

PUBLIC = "http://portal.example"  # plain http: the test client keeps Secure cookies to https
SECRET = "portal-pages-secret-of-at-least-32-chars"


@asynccontextmanager
async def portal_serving(db: Database) -> AsyncIterator[Served]:
    """`frontdoor serve` with the portal on: a daily cap of 3, files of at most 1 MB, and
    agents' Slack files fetched from the stand-in."""
    async with serving(db, frontdoor_portal=True, frontdoor_public_url=PUBLIC,
                       frontdoor_session_secret=SECRET, frontdoor_daily_case_cap=3,
                       frontdoor_max_attachment_mb=1, slack_file_hosts="127.0.0.1") as running:
        yield running


async def seller_in(served: Served, name: str = "Ada") -> tuple[int, httpx.AsyncClient]:
    """A registered seller and a client logged in to the portal as them (by a link)."""
    seller = TelegramSeller(served, name=name)
    await seller.register()
    _identity, found = served.services.cases.identify("telegram", seller.chat)
    assert found is not None
    portal: Any = served.parts.extra["portal"]
    token = portal.login.issue_token(found.id)
    client = httpx.AsyncClient(base_url=str(served.http.base_url), timeout=15)
    page = await client.get(f"/portal/login/{token}")
    assert page.status_code == 200 and "Log in" in page.text
    answer = await client.post(f"/portal/login/{token}", data={"csrf_token": csrf_in(page.text)})
    assert answer.status_code == 303, answer.text
    return found.id, client


def csrf_in(html: str) -> str:
    """The CSRF token of the (first) form on a page."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


async def csrf_of(client: httpx.AsyncClient) -> str:
    """A token of the logged-in session (from the new-case form)."""
    return csrf_in((await client.get("/portal/cases/new")).text)


def portal_files(db: Database) -> int:
    """How many uploaded files the portal keeps."""
    with db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(PortalFileRow)) or 0)
