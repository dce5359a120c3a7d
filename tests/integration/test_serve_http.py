"""`frontdoor serve`'s HTTP surface: who may call the platform endpoints (Slack signatures,
Telegram's secret token), malformed bodies, health, readiness and metrics, the agents' slash
commands, and Telegram long polling. Same server and stand-ins as the serve_relay tests
(serve_relay_support)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from storage.database import Database
from storage.models import CaseMessageRow, IdentityRow, JobRunRow, ProcessedEventRow
from tests.integration import serve_relay_support as relay_tests
from tests.integration.serve_relay_support import (
    AGENT,
    ORDER,
    SIGNING_SECRET,
    SUPPORT,
    WAIT,
    OpenedCase,
    Served,
    TelegramSeller,
    next_agent_ts,
    serving,
)
from tests.standins import slack_api, telegram_api


@pytest.fixture
async def served(sqlite_db: Database) -> AsyncIterator[Served]:
    """These tests are about HTTP, not storage: SQLite is enough."""
    async with serving(sqlite_db) as running:
        yield running


# The relay tests' seller and case fixtures, over this module's ``served``.
seller = relay_tests.seller
case = relay_tests.case


def count(served: Served, model: type) -> int:
    return int(served.scalar(select(func.count()).select_from(model)))


# Slack request signatures --------------------------------------------------------------------
async def test_unsigned_and_badly_signed_slack_requests_are_refused(
        served: Served, case: OpenedCase) -> None:
    messages, events = count(served, CaseMessageRow), count(served, ProcessedEventRow)
    event = slack_api.thread_reply_event(SUPPORT, case.parent_ts, "You should never see this",
                                         ts=next_agent_ts())
    body = json.dumps(slack_api.event_envelope(event))
    stale = int(time.time()) - 10 * 60

    unsigned = await served.slack_post(body, "application/json", secret=None)
    wrong = await served.slack_post(body, "application/json", secret="not-the-secret")
    old = await served.slack_post(body, "application/json", timestamp=stale)
    tampered_headers = slack_api.signed_headers(SIGNING_SECRET, body)
    tampered = await served.http.post(
        "/slack/events", content=body.replace("never", "always").encode(),
        headers={"Content-Type": "application/json", **tampered_headers})
    button = await served.slack_post(
        slack_api.block_action_form("case_status:resolved", case.number, user=AGENT,
                                    message_ts=case.parent_ts),
        "application/x-www-form-urlencoded", secret="not-the-secret")

    assert [r.status_code for r in (unsigned, wrong, old, tampered, button)] == [401] * 5
    assert (count(served, CaseMessageRow), count(served, ProcessedEventRow)) == (messages, events)
    assert served.services.cases.get_case(case.number).case.status == "open"
    assert [r for r in served.telegram.calls("sendMessage") if "never see" in r["text"]] == []


async def test_malformed_signed_slack_bodies_are_rejected(served: Served) -> None:
    events = count(served, ProcessedEventRow)
    not_json = await served.slack_post("{not json", "application/json")
    no_payload = await served.slack_post(urlencode({"payload": "{broken"}),
                                         "application/x-www-form-urlencoded")
    assert not_json.status_code == 400, not_json.text
    assert no_payload.status_code == 400, no_payload.text
    assert count(served, ProcessedEventRow) == events


async def test_slack_url_verification_is_answered(served: Served) -> None:
    body = json.dumps({"token": "t", "challenge": "c0ffee", "type": "url_verification"})
    response = await served.slack_post(body, "application/json")
    assert response.status_code == 200 and response.json() == {"challenge": "c0ffee"}


# Telegram's secret token -----------------------------------------------------------------------
async def test_telegram_requests_without_the_secret_are_refused(served: Served) -> None:
    invitation = served.services.cases.create_invitation("Eve's Shop")
    update = telegram_api.message_update(f"/start {invitation.code}", user_id=31337)

    missing = await served.telegram_update(update, secret=None)
    wrong = await served.telegram_update(update, secret="guessed")

    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert count(served, IdentityRow) == 0 and count(served, ProcessedEventRow) == 0
    assert served.telegram.calls("sendMessage") == []


@pytest.mark.parametrize("body", [
    b"{not json", b"\xff\xfe", b"[1, 2]", b'{"message": {"text": "no update_id"}}',
    b'{"update_id": "7"}',
])  # a malformed update that has its update_id: tests/integration/test_hostile_webhooks.py
async def test_malformed_telegram_bodies_get_400(served: Served, body: bytes) -> None:
    response = await served.telegram_update(body)
    assert response.status_code == 400, response.text
    assert count(served, IdentityRow) == 0 and count(served, ProcessedEventRow) == 0


async def test_telegram_updates_the_engine_does_not_handle_are_acknowledged(
        served: Served) -> None:
    edited = {"update_id": 4242, "edited_message": {
        "message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"}, "text": "x"}}
    response = await served.telegram_update(edited)
    assert response.status_code == 200  # else Telegram would redeliver it forever
    assert count(served, ProcessedEventRow) == 0


# Health, readiness, metrics --------------------------------------------------------------------
async def test_healthz_and_readyz(served: Served) -> None:
    assert (await served.http.get("/healthz")).json() == {"status": "ok"}

    ready = await served.http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"ready": True, "checks": {"database": "ok", "nlu": "ok"}}

    served.nlu[0] = False
    not_ready = await served.http.get("/readyz")
    assert not_ready.status_code == 503
    assert not_ready.json()["checks"] == {"database": "ok", "nlu": "error: not answering"}

    served.nlu[0] = None  # the check itself fails
    failing = await served.http.get("/readyz")
    assert failing.status_code == 503
    assert failing.json()["checks"]["nlu"] == "error: ConnectionError"


async def test_metrics_count_requests_and_outbox_items(
        served: Served, seller: TelegramSeller) -> None:
    await served.telegram_update(b"{not json")
    await served.telegram_update(telegram_api.message_update("hello", user_id=1), secret="bad")

    response = await served.http.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'frontdoor_inbound_total{channel="telegram",outcome="200"} 1.0' in text
    assert 'frontdoor_inbound_total{channel="telegram",outcome="400"} 1.0' in text
    assert 'frontdoor_inbound_total{channel="telegram",outcome="401"} 1.0' in text
    assert 'frontdoor_outbox_items{status="sent"}' in text
    assert 'frontdoor_outbox_items{status="withdrawn"}' in text
    assert "frontdoor_outbox_delivered" in text
    # The dispatcher's claims and records are counted as it works (the seller got a reply).
    claims = re.search(r'frontdoor_outbox_claims\{found="items"\} (\d+)\.0', text)
    assert claims is not None and int(claims[1]) >= 1
    assert re.search(r"frontdoor_outbox_record_transactions ([1-9]\d*)\.0", text)


# Agents' slash commands --------------------------------------------------------------------
def _command(name: str, text: str, user: str) -> str:
    return urlencode({"command": name, "text": text, "user_id": user, "channel_id": SUPPORT,
                      "team_id": slack_api.TEAM_ID, "trigger_id": "1.2.3",
                      "response_url": "https://hooks.slack.invalid/commands/1"})


async def test_case_and_cases_commands_for_agents_only(served: Served, case: OpenedCase) -> None:
    form = "application/x-www-form-urlencoded"

    found = await served.slack_post(_command("/case", case.number.lower(), AGENT), form)
    listing = await served.slack_post(_command("/cases", "", AGENT), form)
    refused = await served.slack_post(_command("/case", case.number, "U0OUTSIDER"), form)
    usage = await served.slack_post(_command("/case", "what?", AGENT), form)

    # Bolt answers a plain-text ack as the response body; Slack shows it to the agent only.
    assert found.status_code == 200 and case.number in found.text
    assert f"Order: {ORDER}" in found.text
    assert case.number in listing.text
    assert refused.text == "Only support agents can look up cases."
    assert usage.text.startswith("Usage: /case CX-")


# Telegram long polling (development mode) -----------------------------------------------------
async def test_polling_mode_reads_updates_and_stops_promptly(sqlite_db: Database) -> None:
    async with serving(sqlite_db, telegram_mode="polling") as served:
        assert served.parts.telegram_webhook is None
        invitation = served.services.cases.create_invitation("Poll's Shop")
        served.telegram.push_update(
            telegram_api.message_update(f"/start {invitation.code}", user_id=777))
        welcome = await served.telegram.wait_for(
            "sendMessage", timeout=WAIT, where=lambda r: r.get("chat_id") == "777")
        assert "registered as" in welcome["text"]
        assert served.telegram.calls("deleteWebhook")
        polls = len(served.telegram.calls("getUpdates"))

        # A long poll is pending now (the stand-in holds it up to 10 s): stopping the server
        # must not wait for it.
        stopping = time.monotonic()
        await served.server.stop()
        assert time.monotonic() - stopping < 5.0
        assert len(served.telegram.calls("getUpdates")) == polls  # and no poll after stop
        # Release the stand-in's held long poll, so the stand-in itself stops at once.
        served.telegram.push_update(telegram_api.message_update("bye", user_id=777))


async def test_slack_base_url_without_trailing_slash_still_reaches_the_api(
        sqlite_db: Database) -> None:
    async with serving(sqlite_db, slack_slash=False) as served:
        response = await served.slack_post(_command("/cases", "", AGENT),
                                           "application/x-www-form-urlencoded")
        assert response.text == "No cases (in_progress)."  # the agent check reached the API
        members = await served.slack.wait_for("conversations.members", timeout=WAIT)
        assert members.path == "/api/conversations.members"


async def test_the_scheduler_runs_with_the_server(sqlite_db: Database) -> None:
    async with serving(sqlite_db, with_scheduler=True) as served:
        # The start-up catch-up ran its sweeps before the server answered.
        assert count(served, JobRunRow) > 0
        assert (await served.http.get("/healthz")).status_code == 200
        stopping = time.monotonic()
        await served.server.stop()
        assert time.monotonic() - stopping < 5.0
