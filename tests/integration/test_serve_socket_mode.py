"""`frontdoor serve` with Slack in Socket Mode (SLACK_APP_TOKEN set, no signing secret): the
real slack-bolt handler and slack_sdk websocket client connect to the stand-in's Socket Mode
endpoint, and Slack's envelopes (events, button presses, slash commands) are pushed over it.
Same server, sellers (Telegram webhook) and helpers as the serve_relay tests (serve_relay_support).

Every envelope is acknowledged only after its work is done (the app handles before it
answers), so ``socket_push`` returning the ack means the database already has the result.
Failed connections are loud: a token Slack refuses stops the server, a lost or not yet
established connection makes /readyz answer 503 with the reason until slack_sdk reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from adapters.slack import socket_mode
from adapters.slack.socket_mode import SocketModeRefused
from bot import domain as d
from frontdoor.serve_app import build_server
from frontdoor.server import create_app
from frontdoor.wiring import build_services
from storage.database import Database
from storage.models import ProcessedEventRow
from tests.fakes import FakeClassifier
from tests.integration import serve_relay_support as relay_tests
from tests.integration.serve_relay_support import (
    AGENT,
    RULES,
    SLACK_TOKEN,
    SUPPORT,
    WAIT,
    OpenedCase,
    Served,
    TelegramSeller,
    UvicornServer,
    _status_field,
    next_agent_ts,
    sent_to,
    serve_settings,
    serving,
)
from tests.standins import slack_api
from tests.standins.slack_api import SlackStandIn
from tests.standins.telegram_api import TelegramStandIn

APP_TOKEN = "xapp-1-A0STANDIN-1-0123456789abcdef"
#: Socket Mode only: an app-level token and no signing secret (so no HTTP endpoint for Slack).
SOCKET_MODE: dict[str, Any] = {"slack_app_token": APP_TOKEN, "slack_signing_secret": None}


@pytest.fixture
async def served(db: Database) -> AsyncIterator[Served]:
    """The server in Socket Mode on SQLite and PostgreSQL, once its websocket is up."""
    async with serving(db, **SOCKET_MODE) as running:
        await running.slack.socket_connected(timeout=WAIT)
        yield running


# The relay tests' seller and case fixtures, over this module's ``served``.
seller = relay_tests.seller
case = relay_tests.case


@pytest.fixture
def quick_pings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reconnection tests: slack_sdk checks its connection (and retries) every ping interval,
    10 s by default."""
    monkeypatch.setattr(socket_mode, "SOCKET_MODE_PING_INTERVAL", 0.5)


async def agent_writes(served: Served, thread_ts: str, text: str, event_id: str | None = None,
                       retry_attempt: int = 0, ts: str | None = None) -> dict[str, Any]:
    """An agent writes in the case thread: the message appears in Slack (so a reaction can
    find it) and Slack pushes the event over the websocket. Returns the app's ack."""
    event = slack_api.thread_reply_event(SUPPORT, thread_ts, text, ts=ts or next_agent_ts())
    if not served.slack.find(SUPPORT, event["ts"]):
        served.slack.messages.setdefault(SUPPORT, []).append(
            {"type": "message", "ts": event["ts"], "user": AGENT, "text": text,
             "thread_ts": thread_ts})
    envelope = slack_api.events_api_envelope(event, event_id, retry_attempt=retry_attempt)
    ack = await served.slack.socket_push(envelope, timeout=WAIT)
    assert ack == {"envelope_id": envelope["envelope_id"]}
    return ack


async def readiness_until(served: Served, accepts: Callable[[httpx.Response], bool],
                          what: str) -> httpx.Response:
    """Poll /readyz until ``accepts`` its answer (connection state changes in the background)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while True:
        response = await served.http.get("/readyz")
        if accepts(response):
            return response
        if loop.time() > deadline:
            raise AssertionError(f"/readyz never showed {what}; last: {response.json()}")
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def serving_on(database: Database, telegram: TelegramStandIn,
                     slack: SlackStandIn) -> AsyncIterator[Served]:
    """Like ``serving`` in Socket Mode, on stand-ins the test prepared before the start."""
    slack.set_members(SUPPORT, [AGENT])
    services = build_services(serve_settings(database.url, telegram, slack, **SOCKET_MODE),
                              database=database)
    classifier = FakeClassifier(dict(RULES), default=None)

    async def nlu_ready() -> bool:
        return True

    parts = build_server(services, classifier, nlu_ready=nlu_ready, with_scheduler=False)
    server = UvicornServer(create_app(parts))
    base_url = await server.start()
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=WAIT) as http:
            yield Served(telegram, slack, services, parts, http, classifier, server)
    finally:
        await server.stop()


def _socket_check(response: httpx.Response) -> str:
    return str(response.json()["checks"]["slack_socket_mode"])


# Events, buttons and commands over the websocket ---------------------------------------------
async def test_agent_reply_pushed_over_the_socket_reaches_the_seller(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    connect = served.slack.calls("apps.connections.open")[0]
    assert connect.headers["Authorization"] == f"Bearer {APP_TOKEN}"  # the app-level token
    mark = served.slack.mark()

    await agent_writes(served, case.parent_ts, "We asked the carrier; news by Friday.")

    sent = await served.telegram.wait_for(
        "sendMessage", timeout=WAIT, where=lambda r: "We asked the carrier" in r.get("text", ""))
    assert sent["chat_id"] == seller.chat
    assert sent["text"] == f"💬 {case.number}: We asked the carrier; news by Friday."
    await served.slack.wait_for("reactions.add", since=mark, timeout=WAIT)
    # The Web API calls the app makes still use the bot token.
    posts = served.slack.calls("chat.postMessage")
    assert posts and all(r.headers["Authorization"] == f"Bearer {SLACK_TOKEN}" for r in posts)


async def test_button_pushed_over_the_socket_changes_the_status_and_updates_the_parent(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    mark = served.slack.mark()
    payload = slack_api.block_action_payload(
        "case_status:investigating", case.number, user=AGENT, channel=SUPPORT,
        message_ts=case.parent_ts, response_url=served.slack.response_url())
    envelope = slack_api.interactive_envelope(payload)

    ack = await served.slack.socket_push(envelope, timeout=WAIT)

    assert ack == {"envelope_id": envelope["envelope_id"]}
    assert served.services.cases.get_case(case.number).case.status == d.INVESTIGATING
    update = await served.slack.wait_for("chat.update", since=mark, timeout=WAIT)
    assert (update["channel"], update["ts"]) == (SUPPORT, case.parent_ts)
    assert "`investigating`" in _status_field(update)
    await served.telegram.wait_for("sendMessage", timeout=WAIT,
                                   where=lambda r: r.get("chat_id") == seller.chat
                                   and "being looked at" in r.get("text", ""))


async def test_redelivered_envelope_is_processed_once(
        served: Served, seller: TelegramSeller, case: OpenedCase) -> None:
    ts = next_agent_ts()
    await agent_writes(served, case.parent_ts, "The refund is on its way.", "EvSOCKET0001",
                       ts=ts)
    # Slack's retry: a new envelope around the same event, with the attempt counted.
    await agent_writes(served, case.parent_ts, "The refund is on its way.", "EvSOCKET0001",
                       retry_attempt=1, ts=ts)
    # A retry may also come while the first delivery is still being handled (a slow ack):
    # slack_sdk runs the two side by side.
    ts = next_agent_ts()
    await asyncio.gather(*(
        agent_writes(served, case.parent_ts, "The carrier found the parcel.", "EvSOCKET0002",
                     retry_attempt=attempt, ts=ts) for attempt in (0, 1)))
    await agent_writes(served, case.parent_ts, "Marker after the retries.")

    # Replies to one chat go out in order: a second copy would have come before the marker.
    await served.telegram.wait_for("sendMessage", timeout=WAIT,
                                   where=lambda r: "Marker after the retries" in r.get("text", ""))
    assert len(sent_to(served, seller, "refund is on its way")) == 1
    assert len(sent_to(served, seller, "carrier found the parcel")) == 1
    replies = [m.text for m in served.services.cases.get_case(case.number).messages
               if m.author_kind == d.AGENT]
    assert replies == ["The refund is on its way.", "The carrier found the parcel.",
                       "Marker after the retries."]
    assert served.scalar(select(func.count()).select_from(ProcessedEventRow).where(
        ProcessedEventRow.event_id.contains("EvSOCKET000"))) == 2


async def test_slash_command_is_answered_in_the_ack(
        served: Served, case: OpenedCase) -> None:
    ack = await served.slack.socket_push(
        slack_api.slash_command_envelope("/case", case.number.lower()), timeout=WAIT)
    text = ack["payload"]["text"]
    assert text.startswith(f"*{case.number}*") and "(open)" in text

    refused = await served.slack.socket_push(
        slack_api.slash_command_envelope("/case", case.number, user="U0OUTSIDER"),
        timeout=WAIT)
    assert refused["payload"] == {"text": "Only support agents can look up cases."}


async def test_no_http_slack_endpoint_is_needed(served: Served) -> None:
    """Without a signing secret nothing listens at /slack/events; readiness covers the socket."""
    response = await served.http.post("/slack/events", content=b"{}",
                                      headers={"Content-Type": "application/json"})
    assert response.status_code == 404
    ready = await readiness_until(served, lambda r: r.status_code == 200, "ready")
    assert ready.json()["checks"] == {"database": "ok", "nlu": "ok", "slack_socket_mode": "ok"}


# Failed connections are loud -----------------------------------------------------------------
async def test_refused_app_token_stops_the_server_with_a_clear_message(
        sqlite_db: Database, caplog: pytest.LogCaptureFixture) -> None:
    async with TelegramStandIn() as telegram, SlackStandIn() as slack:
        slack.refuse_socket_mode("invalid_auth")
        services = build_services(serve_settings(sqlite_db.url, telegram, slack, **SOCKET_MODE),
                                  database=sqlite_db)
        parts = build_server(services, FakeClassifier({}), with_scheduler=False)
        app = create_app(parts)

        with pytest.raises(SocketModeRefused) as refused:
            async with app.router.lifespan_context(app):
                raise AssertionError("the server started with a refused app token")

    message = str(refused.value)
    assert "'invalid_auth'" in message and "SLACK_APP_TOKEN" in message
    assert any(r.levelname == "ERROR" and "invalid_auth" in r.getMessage()
               for r in caplog.records)
    assert slack.calls("socket_mode.connect") == []


async def test_frontdoor_serve_exits_when_slack_refuses_the_app_token(tmp_path: Path) -> None:
    """The real command: a refused token is a failed start (exit code 3), with the reason."""
    async with SlackStandIn() as slack:
        slack.refuse_socket_mode("token_revoked")
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("FRONTDOOR_", "SLACK_", "TELEGRAM_"))}
        env.update({
            "FRONTDOOR_DATABASE_URL": f"sqlite:///{tmp_path}/serve.db",
            "FRONTDOOR_NLU_URL": "http://127.0.0.1:9/unused",
            "SLACK_BOT_TOKEN": SLACK_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN,
            "SLACK_API_BASE_URL": slack.base_url, "SLACK_SUPPORT_CHANNEL": SUPPORT,
        })
        frontdoor = Path(sys.executable).parent / "frontdoor"
        process = await asyncio.create_subprocess_exec(
            str(frontdoor), "serve", "--port", "0", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()

    log = stderr.decode()
    assert process.returncode == 3, log
    assert "Slack Socket Mode refused: apps.connections.open answered 'token_revoked'" in log
    assert "Application startup failed" in log  # uvicorn's exit, code 3


async def test_slack_down_at_start_is_not_ready_until_connected(
        sqlite_db: Database, quick_pings: None) -> None:
    """An outage is not a wrong token: the server starts, says why it is not ready, and
    slack_sdk keeps trying until Slack answers."""
    async with TelegramStandIn() as telegram, SlackStandIn() as slack:
        slack.fail_next("apps.connections.open", slack_api.server_error(503), times=10_000)
        async with serving_on(sqlite_db, telegram, slack) as served:
            down = await served.http.get("/readyz")
            assert down.status_code == 503
            assert _socket_check(down) == ("error: Slack Socket Mode not connected "
                                           "(HTTP 503)")
            assert slack.calls("socket_mode.connect") == []

            slack.clear_faults()
            await slack.socket_connected(timeout=WAIT)
            await readiness_until(served, lambda r: r.status_code == 200, "ready")


async def test_lost_connection_is_not_ready_and_reconnects(
        sqlite_db: Database, quick_pings: None) -> None:
    async with serving(sqlite_db, **SOCKET_MODE) as served:
        slack = served.slack
        await slack.socket_connected(timeout=WAIT)
        await readiness_until(served, lambda r: r.status_code == 200, "ready")

        slack.refuse_socket_mode("token_revoked")  # e.g. the app was reinstalled meanwhile
        await slack.socket_drop()
        lost = await readiness_until(
            served, lambda r: "token_revoked" in _socket_check(r), "the reconnect's error")
        assert lost.status_code == 503

        slack.refuse_socket_mode(None)
        await slack.socket_connected(count=2, timeout=WAIT)
        await readiness_until(served, lambda r: r.status_code == 200, "ready again")
        ack = await slack.socket_push(slack_api.slash_command_envelope("/cases", ""),
                                      timeout=WAIT)
        assert ack["payload"] == {"text": "No cases (in_progress)."}


async def test_slack_refresh_request_moves_to_a_new_connection(
        sqlite_db: Database, quick_pings: None) -> None:
    """Slack asks apps to reconnect now and then (``disconnect``, ``refresh_requested``)."""
    async with serving(sqlite_db, **SOCKET_MODE) as served:
        slack = served.slack
        first = await slack.socket_connected(timeout=WAIT)

        await slack.socket_disconnect("refresh_requested")

        second = await slack.socket_connected(count=2, timeout=WAIT)
        assert second["ticket"] != first["ticket"]  # a fresh URL from apps.connections.open
        assert len(slack.calls("apps.connections.open")) == 2
        ack = await slack.socket_push(slack_api.slash_command_envelope("/cases", ""),
                                      timeout=WAIT)
        assert ack["payload"] == {"text": "No cases (in_progress)."}
