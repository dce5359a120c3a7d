"""Property-based fuzzing of the platform endpoints through the real server (uvicorn on
127.0.0.1, python-telegram-bot, slack-bolt, the stand-ins): whatever a client holding the
secret sends, the answer is never a 5xx, and what gets stored is text every database takes.

Hypothesis runs in a worker thread with a blocking HTTP client while the server keeps
serving in the test's event loop. Example counts are bounded so each test takes seconds.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import unicodedata
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.dialogue.cleaning import clean_text, is_storable
from storage.models import CaseMessageRow, DialogueStateRow, IdentityRow
from tests.integration import serve_relay_support as relay_fixtures
from tests.integration import serve_relay_support as relay_tests
from tests.integration.serve_relay_support import (
    AGENT,
    SIGNING_SECRET,
    SUPPORT,
    TELEGRAM_SECRET,
    Served,
    TelegramSeller,
)
from tests.standins import slack_api, telegram_api

# The server, a registered seller and an open case, shared with the relay tests.
served = relay_fixtures.served

seller = relay_tests.seller

FUZZ = settings(max_examples=120, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# Strategies --------------------------------------------------------------------------------
#: Any code point, lone surrogates and NUL included.
any_text = st.text(st.characters(exclude_categories=()), max_size=60)
scalars = (st.none() | st.booleans() | st.integers() | st.integers(-(2**70), 2**70)
           | st.floats(allow_nan=False) | any_text)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=12)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside ``value`` (keys and list indexes)."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_paths(item, (*prefix, index)))
    return found


@st.composite
def mutated(draw: st.DrawFn, valid: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """A valid payload with one to three of its fields deleted or replaced by anything."""
    payload = valid()
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(payload)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent: Any = payload
        for step in path[:-1]:
            parent = parent[step]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(json_values)
    return payload


def _valid_telegram_updates() -> list[Callable[[], dict[str, Any]]]:
    return [
        lambda: telegram_api.message_update("my parcel never arrived", user_id=9_100_001),
        lambda: telegram_api.message_update(
            "/case CX-000001", user_id=9_100_002, reply_to_message_id=5,
            document={"file_id": "F1", "file_unique_id": "U1", "file_name": "a.pdf",
                      "mime_type": "application/pdf", "file_size": 10}),
        lambda: telegram_api.callback_update("menu", user_id=9_100_003),
        lambda: telegram_api.my_chat_member_update("kicked", user_id=9_100_004),
    ]


def _valid_slack_bodies() -> list[Callable[[], dict[str, Any]]]:
    dm = {"type": "message", "channel_type": "im", "channel": "D0FUZZ", "user": "U0FUZZ",
          "text": "hello", "ts": "1700000000.000200"}
    return [
        lambda: slack_api.event_envelope(dict(dm)),
        lambda: slack_api.event_envelope(
            slack_api.thread_reply_event(SUPPORT, "1.000001", "on it", user=AGENT)),
        lambda: slack_api.block_action_payload("case_status:resolved", "CX-000001", user=AGENT),
        lambda: slack_api.block_action_payload("seller_button", "menu", user="U0FUZZ"),
        lambda: {"type": "view_submission", "user": {"id": AGENT}, "team": {"id": "T1"},
                 "view": {"type": "modal", "callback_id": "decline_reason", "private_metadata": "CX-000001",
                          "state": {"values": {"reason": {"reason": {"value": "no"}}}}}},
    ]


# Posting from the hypothesis thread ----------------------------------------------------------
def _telegram_post(http: httpx.Client, body: bytes) -> httpx.Response:
    return http.post("/telegram/webhook", content=body,
                     headers={"Content-Type": "application/json",
                              "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET})


def _slack_post(http: httpx.Client, body: str, content_type: str) -> httpx.Response:
    raw = body.encode("utf-8", "surrogatepass")
    return http.post("/slack/events", content=raw,
                     headers={"Content-Type": content_type,
                              **slack_api.signed_headers(SIGNING_SECRET, raw)})


def _slack_body(payload: Any, as_form: bool) -> tuple[str, str]:
    if as_form:
        return urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
    return json.dumps(payload), "application/json"


def _slack_signature(raw: bytes) -> dict[str, str]:
    """Slack's signature headers for any bytes (slack_sdk's signer takes UTF-8 only)."""
    stamp = str(int(time.time()))
    digest = hmac.new(SIGNING_SECRET.encode(), b"v0:" + stamp.encode() + b":" + raw,
                      hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


def _never_5xx(response: httpx.Response) -> None:
    assert response.status_code < 500, (response.status_code, response.text)
    assert "Traceback" not in response.text


async def _fuzz(served: Served, run: Callable[[httpx.Client], None]) -> None:
    """Run a hypothesis test in a worker thread against the server in this event loop."""
    with httpx.Client(base_url=str(served.http.base_url), timeout=30.0) as http:
        await asyncio.to_thread(run, http)


# The tests ---------------------------------------------------------------------------------
async def test_telegram_webhook_never_answers_5xx(served: Served) -> None:
    updates = (json_values.map(lambda v: json.dumps(v).encode())
               | st.dictionaries(any_text, json_values, max_size=3).map(
                   lambda d: json.dumps({"update_id": 1, **d}).encode())
               | st.one_of(*(mutated(v) for v in _valid_telegram_updates())).map(
                   lambda u: json.dumps(u).encode())
               | st.binary(max_size=64))

    def run(http: httpx.Client) -> None:
        @FUZZ
        @given(updates)
        def check(body: bytes) -> None:
            _never_5xx(_telegram_post(http, body))

        check()

    await _fuzz(served, run)


async def test_slack_events_never_answers_5xx(served: Served) -> None:
    payloads = st.tuples(
        json_values | st.one_of(*(mutated(v) for v in _valid_slack_bodies())), st.booleans())
    raw_forms = st.dictionaries(st.sampled_from(["payload", "command", "user_id", "text", "x"]),
                                any_text, max_size=3).map(
        lambda form: urlencode(form, errors="surrogatepass"))

    def run(http: httpx.Client) -> None:
        @FUZZ
        @given(payloads, raw_forms)
        def check(payload: tuple[Any, bool], form: str) -> None:
            _never_5xx(_slack_post(http, *_slack_body(*payload)))
            _never_5xx(_slack_post(http, form, "application/x-www-form-urlencoded"))

        check()

    await _fuzz(served, run)


async def test_any_text_a_seller_writes_is_answered_and_stored_clean(
        served: Served, seller: TelegramSeller) -> None:
    message_ids = iter(range(10_000, 20_000))

    def run(http: httpx.Client) -> None:
        @FUZZ
        @given(any_text, any_text)
        def check(text: str, name: str) -> None:
            update = telegram_api.message_update(text, user_id=seller.user_id, first_name=name,
                                                 message_id=next(message_ids))
            response = _telegram_post(http, json.dumps(update).encode())
            assert response.status_code == 200, response.text

        check()

    await _fuzz(served, run)
    with served.services.database.sessions() as session:
        stored = [*session.scalars(select(CaseMessageRow.text)),
                  *(name for name in session.scalars(select(IdentityRow.display_name)) if name),
                  *(s for state in session.scalars(select(DialogueStateRow.state))
                    for s in _strings(state))]
    assert stored  # the seller's conversation is there
    assert [s for s in stored if not is_storable(s)] == []



async def test_any_body_over_the_cap_gets_413(served: Served, seller: TelegramSeller) -> None:
    """Whatever a body over the cap holds, on either endpoint, with its size declared or only
    counted as it arrives (chunked), it is refused 413, and the server goes on serving."""
    limit = served.parts.max_request_bytes
    bodies = st.tuples(st.sampled_from(["/telegram/webhook", "/slack/events"]),
                       st.binary(min_size=1, max_size=40), st.integers(1, 200_000), st.booleans())

    def run(http: httpx.Client) -> None:
        @settings(FUZZ, max_examples=24)
        @given(bodies)
        def check(case: tuple[str, bytes, int, bool]) -> None:
            path, pattern, over, chunked = case
            size = limit + over
            body = (pattern * (size // len(pattern) + 1))[:size]
            headers = {"Content-Type": "application/json"}
            if path == "/telegram/webhook":
                headers["X-Telegram-Bot-Api-Secret-Token"] = TELEGRAM_SECRET
            else:
                headers.update(_slack_signature(body))
            pieces = (body[i:i + 65_536] for i in range(0, size, 65_536))
            response = http.post(path, content=pieces if chunked else body, headers=headers)
            assert response.status_code == 413, (path, chunked, response.status_code,
                                                  response.text)

        check()

    await _fuzz(served, run)
    update = telegram_api.message_update("hello again", user_id=seller.user_id)
    assert (await served.telegram_update(update)).status_code == 200


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


@FUZZ
@given(any_text)
def test_clean_text_leaves_no_control_characters_or_surrogates(text: str) -> None:
    cleaned = clean_text(text)
    assert is_storable(cleaned)
    left = {unicodedata.category(ch) for ch in cleaned if ch not in "\n\t"}
    assert left.isdisjoint({"Cc", "Cs"})
    cleaned.encode("utf-8")  # raises if anything unencodable is left
    assert clean_text(cleaned) == cleaned
