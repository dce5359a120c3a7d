"""One-time portal login links (bot/portal_login.py) on both databases, and the portal's
signed-cookie session and CSRF tokens (adapters/web/session.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from adapters.web.session import COOKIE_NAME, PortalSessions, csrf_ok, csrf_token, current_seller
from bot.clock import ManualClock
from bot.portal_login import LoginGranted, LoginRefused, PortalLogin, decode_b64, encode_b64
from storage.database import Database
from storage.portal_logins import SqlPortalLoginStore
from storage.uow import SqlUnitOfWorkFactory

SECRET = "s" * 40


def _seller(db: Database, clock: ManualClock) -> int:
    with SqlUnitOfWorkFactory(db)() as uow:
        seller = uow.sellers.add(None, "Ada's Shop", clock.now())
        uow.commit()
        return seller.id


def test_a_link_logs_in_once_within_15_minutes_and_names_the_case(db: Database) -> None:
    clock = ManualClock()
    seller_id = _seller(db, clock)
    login = PortalLogin("https://support.example.com/", SECRET, SqlPortalLoginStore(db), clock)
    link = login.issue_link(seller_id, "CX-000042")
    assert link.startswith("https://support.example.com/portal/login/")
    token = link.rsplit("/", 1)[1]
    clock.advance(minutes=14)
    assert login.redeem(token) == LoginGranted(seller_id, "CX-000042")
    assert login.redeem(token) == LoginRefused("used")

    late = login.issue_token(seller_id)
    clock.advance(minutes=15)
    assert login.redeem(late) == LoginRefused("expired")
    # Two links issued in the same second are different links.
    assert login.issue_token(seller_id) != login.issue_token(seller_id)


def test_a_forged_or_altered_link_is_unknown(db: Database) -> None:
    clock = ManualClock()
    seller_id = _seller(db, clock)
    login = PortalLogin("https://x.example", SECRET, SqlPortalLoginStore(db), clock)
    other_secret = PortalLogin("https://x.example", "t" * 40, SqlPortalLoginStore(db), clock)
    token = login.issue_token(seller_id)
    payload, signature = token.split(".")
    # Someone else's seller id under the same signature.
    forged_payload = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB")
    for bad in (other_secret.issue_token(seller_id), f"{forged_payload}.{signature}", "",
                "nodot", "a.b.c", "%%%.$$$", "x" * 1000, f"{payload}.", "é.é"):
        assert login.redeem(bad) == LoginRefused("unknown"), bad
    assert login.redeem(token) == LoginGranted(seller_id, None)


def _app(sessions: PortalSessions) -> Starlette:
    async def login(request: Request) -> Response:
        response = JSONResponse({"ok": True})
        sessions.start(response, int(request.path_params["seller"]))
        return response

    async def whoami(request: Request) -> Response:
        return JSONResponse({"seller": current_seller(request), "csrf": csrf_token(request),
                             "csrf_ok": csrf_ok(request, request.query_params.get("csrf"))})

    async def logout(_request: Request) -> Response:
        response = JSONResponse({"ok": True})
        sessions.end(response)
        return response

    app = Starlette(routes=[Route("/login/{seller}", login), Route("/whoami", whoami),
                            Route("/logout", logout)])
    app.state.portal_sessions = sessions
    return app


def test_the_session_cookie_is_signed_http_only_lax_and_secure_on_https() -> None:
    clock = ManualClock()
    sessions = PortalSessions(SECRET, "https://support.example.com", timedelta(hours=2), clock)
    client = TestClient(_app(sessions), base_url="https://testserver")
    set_cookie = client.get("/login/7").headers["set-cookie"]
    assert f"{COOKIE_NAME}=" in set_cookie
    for attribute in ("HttpOnly", "SameSite=lax", "Secure", "Max-Age=7200", "Path=/"):
        assert attribute.lower() in set_cookie.lower(), attribute
    me = client.get("/whoami").json()
    assert me["seller"] == 7 and me["csrf"]
    assert client.get("/whoami", params={"csrf": me["csrf"]}).json()["csrf_ok"] is True
    assert client.get("/whoami", params={"csrf": me["csrf"] + "x"}).json()["csrf_ok"] is False

    # A changed seller id in the cookie breaks the signature.
    payload, signature = client.cookies[COOKIE_NAME].split(".")
    altered = encode_b64(b"8" + decode_b64(payload)[1:])
    client.cookies.clear()
    client.cookies.set(COOKIE_NAME, f"{altered}.{signature}")
    assert client.get("/whoami").json() == {"seller": None, "csrf": None, "csrf_ok": False}

    # The lifetime ends the session; a new login makes a new CSRF token.
    client.cookies.clear()
    client.get("/login/7")
    clock.advance(hours=2)
    assert client.get("/whoami").json()["seller"] is None
    clock.advance(seconds=-1)
    assert client.get("/whoami").json()["seller"] == 7
    client.get("/login/7")
    assert client.get("/whoami").json()["csrf"] != me["csrf"]
    logout = client.get("/logout")
    assert 'Max-Age=0' in logout.headers["set-cookie"] or "expires" in logout.headers["set-cookie"]
    assert client.get("/whoami").json()["seller"] is None


def test_plain_http_cookie_is_not_secure_and_a_short_secret_is_refused() -> None:
    sessions = PortalSessions(SECRET, "http://127.0.0.1:8080", timedelta(hours=1))
    set_cookie = TestClient(_app(sessions)).get("/login/1").headers["set-cookie"]
    assert "secure" not in set_cookie.lower()
    with pytest.raises(ValueError, match="at least 32"):
        PortalSessions("short", "https://x", timedelta(hours=1))
