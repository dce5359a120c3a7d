"""Hostile webhooks (issue 10): every class of malformed request that once got a 500 is now
answered with 2xx or 4xx, logged with its reason, leaves nothing behind, and does not stop a
valid request sent right after it from being processed. Through the real server (uvicorn,
python-telegram-bot, slack-bolt) and the stand-ins, on SQLite and PostgreSQL.

Telegram: a body that is no update at all gets 400; a malformed *update* gets 200 (Telegram
repeats anything else and holds the chat's later updates back). Slack: 400 with
``X-Slack-No-Retry: 1``. A valid request whose processing fails (the database is down) still
gets a 5xx, so that the platform delivers it again.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from adapters.inbound_checks import MAX_EVENT_ID_CHARS, MAX_ID_CHARS
from bot.dialogue.cleaning import is_storable
from storage.models import CaseMessageRow, DialogueStateRow, IdentityRow, ProcessedEventRow
from tests.integration import serve_relay_support as relay_fixtures
from tests.integration import serve_relay_support as relay_tests
from tests.integration.serve_relay_support import (
    AGENT,
    SUPPORT,
    TELEGRAM_SECRET,
    WAIT,
    OpenedCase,
    Served,
    TelegramSeller,
    next_agent_ts,
)
from tests.standins import slack_api, telegram_api

# The server, a registered seller and an open case, shared with the relay tests.
served = relay_fixtures.served

seller = relay_tests.seller
case = relay_tests.case

FORM = "application/x-www-form-urlencoded"
_fresh_users = itertools.count(8_100_001)


def _count(served: Served, model: type) -> int:
    return int(served.scalar(select(func.count()).select_from(model)))


# Telegram ------------------------------------------------------------------------------------
def _text_update(mutate: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    update = telegram_api.message_update("hello", user_id=next(_fresh_users))
    mutate(update)
    return update


def _button_update(mutate: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    update = telegram_api.callback_update("menu", user_id=next(_fresh_users))
    mutate(update)
    return update


def _nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = {"deeper": value}
    return value


@dataclass(frozen=True)
class Hostile:
    """One malformed request: what is sent, the status expected, what the log must say."""

    name: str
    body: dict[str, Any] | bytes
    status: int
    logged: str


TELEGRAM_CASES = [
    Hostile("text of the wrong type", _text_update(lambda u: u["message"].update(text=42)),
            200, "text is not a string"),
    Hostile("a field python-telegram-bot trips over (AttributeError)",
            _text_update(lambda u: u["message"].update(entities="bold")),
            200, "python-telegram-bot cannot read it: AttributeError"),
    Hostile("an id of the wrong type", _text_update(lambda u: u["message"]["from"].update(id="ada")),
            200, "sender: id is missing or not an integer"),
    Hostile("message without its chat", _text_update(lambda u: u["message"].pop("chat")),
            200, "chat is missing"),
    Hostile("button press without its sender",
            _button_update(lambda u: u["callback_query"].pop("from")), 200, "from is missing"),
    Hostile("membership change without its chat",
            {"update_id": 990001, "my_chat_member": {"date": 0}}, 200, "chat is missing"),
    Hostile("sender id too long for its column",
            _text_update(lambda u: u["message"]["from"].update(id=10 ** (MAX_ID_CHARS + 5))),
            200, "does not fit in 64 bits"),
    Hostile("chat id too long for its column",
            _text_update(lambda u: u["message"]["chat"].update(id=-(10 ** 40))),
            200, "does not fit in 64 bits"),
    Hostile("button data over Telegram's 64 bytes",
            _button_update(lambda u: u["callback_query"].update(data="x" * 500)),
            200, "data is over 64 bytes"),
    Hostile("nesting deep enough to exhaust recursion while parsing",
            b'{"update_id": 990002, "message": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
            400, "nests too deeply"),
    Hostile("nesting that parses but is far deeper than any update",
            _text_update(lambda u: u["message"].update(reply_markup=_nested(200))),
            200, "nests deeper than"),
    Hostile("not JSON", b"\xff{not json", 400, "not JSON"),
    Hostile("no update_id", b'{"message": {"text": "hi"}}', 400, "no integer update_id"),
]


async def _telegram_still_answers(served: Served) -> None:
    """A valid update from a new user, sent after the hostile one, is answered."""
    user = next(_fresh_users)
    mark = served.telegram.mark()
    response = await served.telegram_update(telegram_api.message_update("hello", user_id=user))
    assert response.status_code == 200, response.text
    await served.telegram.wait_for("sendMessage", since=mark, timeout=WAIT,
                                   where=lambda r: r.get("chat_id") == str(user))


async def test_malformed_telegram_updates_never_get_a_5xx(
        served: Served, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    failures = []
    for hostile in TELEGRAM_CASES:
        caplog.clear()
        identities, events = _count(served, IdentityRow), _count(served, ProcessedEventRow)
        body = hostile.body if isinstance(hostile.body, bytes) else \
            json.dumps(hostile.body).encode()
        response = await served.telegram_update(body)
        logged = " | ".join(r.getMessage() for r in caplog.records)
        if response.status_code != hostile.status or hostile.logged not in logged:
            failures.append(f"{hostile.name}: {response.status_code} {response.text!r}; "
                            f"log: {logged!r}")
        if "Traceback" in response.text:
            failures.append(f"{hostile.name}: a traceback in the response")
        if (_count(served, IdentityRow), _count(served, ProcessedEventRow)) != (identities, events):
            failures.append(f"{hostile.name}: something was stored")
        await _telegram_still_answers(served)
    assert failures == []


async def test_nul_and_lone_surrogates_in_telegram_text_are_stored_clean(
        served: Served, seller: TelegramSeller) -> None:
    text = "my parcel \x00never\ud800 arrived, order 123-1234567-1234567, buyer\udfff waiting"
    update = telegram_api.message_update(text, user_id=seller.user_id, message_id=900,
                                         first_name="Ada\x00\udc00")
    mark = served.telegram.mark()
    response = await served.telegram_update(json.dumps(update).encode())
    assert response.status_code == 200, response.text
    answer = await served.telegram.wait_for("sendMessage", since=mark, timeout=WAIT,
                                            where=lambda r: r.get("chat_id") == seller.chat)
    assert "never arrived" in answer["text"]  # the draft, cleaned, is shown back
    with served.services.database.sessions() as session:
        states = [row.state for row in session.scalars(select(DialogueStateRow))]
        names = [row.display_name for row in session.scalars(select(IdentityRow))]
    stored = json.dumps(states, ensure_ascii=False)
    assert "never arrived" in stored
    assert all(is_storable(s) for s in _strings(states)) and "\\u0000" not in stored
    assert all(name is None or is_storable(name) for name in names)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


# Slack ---------------------------------------------------------------------------------------
def _action_form(mutate: Callable[[dict[str, Any]], Any],
                 action_id: str = "case_status:resolved") -> str:
    payload = slack_api.block_action_payload(action_id, "CX-000001", user=AGENT)
    mutate(payload)
    return urlencode({"payload": json.dumps(payload)})


def _decline_submission(mutate: Callable[[dict[str, Any]], Any]) -> str:
    payload: dict[str, Any] = {
        "type": "view_submission", "team": {"id": slack_api.TEAM_ID}, "user": {"id": AGENT},
        "trigger_id": "1.2.3",
        "view": {"type": "modal", "callback_id": "decline_reason", "private_metadata": "CX-000001",
                 "state": {"values": {"reason": {"reason": {"value": "Not our marketplace"}}}}},
    }
    mutate(payload)
    return urlencode({"payload": json.dumps(payload)})


def _dm_event(mutate: Callable[[dict[str, Any]], Any]) -> str:
    event = {"type": "message", "channel_type": "im", "channel": "D0SELLER1", "user": "U0SELLER1",
             "text": "hello", "ts": "1700000000.000100"}
    envelope = slack_api.event_envelope(event)
    mutate(envelope)
    return json.dumps(envelope)


@dataclass(frozen=True)
class HostileSlack:
    name: str
    body: str
    content_type: str
    logged: str


def _drop(key: str) -> Callable[[dict[str, Any]], Any]:
    return lambda payload: payload.pop(key)


SLACK_CASES = [
    HostileSlack("button press without its user", _action_form(_drop("user")), FORM,
                 "user is missing"),
    HostileSlack("button press without actions", _action_form(_drop("actions")), FORM,
                 "no actions"),
    HostileSlack("button press with an empty action list",
                 _action_form(lambda p: p.update(actions=[])), FORM, "no actions"),
    HostileSlack("decline button without a trigger_id",
                 _action_form(_drop("trigger_id"), "case_status:declined"), FORM,
                 "trigger_id is missing"),
    HostileSlack("unknown case action id",
                 _action_form(lambda p: p["actions"][0].update(action_id="case_status:bogus")),
                 FORM, "not a case action"),
    HostileSlack("seller button without its user",
                 _action_form(_drop("user"), "seller_button"), FORM, "user is missing"),
    HostileSlack("decline form without its state",
                 _decline_submission(lambda p: p["view"].pop("state")), FORM,
                 "state is missing"),
    HostileSlack("empty payload=", "payload=", FORM, "not valid JSON"),
    HostileSlack("payload that is not an object", "payload=%5B1%5D", FORM, "bolt cannot read"),
    HostileSlack("slash command without its user", urlencode({"command": "/case", "text": "1"}),
                 FORM, "user id is missing"),
    HostileSlack("event that is not an object", _dm_event(lambda e: e.update(event="message")),
                 "application/json", "event is missing or not an object"),
    HostileSlack("seller DM without its user", _dm_event(lambda e: e["event"].pop("user")),
                 "application/json", "user is missing"),
    HostileSlack("user id too long for its column",
                 _dm_event(lambda e: e["event"].update(user="U" * (MAX_ID_CHARS + 1))),
                 "application/json", "characters long"),
    HostileSlack("event id too long for its column",
                 _dm_event(lambda e: e.update(event_id="Ev" * MAX_EVENT_ID_CHARS)),
                 "application/json", "characters long"),
    HostileSlack("files that are not a list of objects",
                 _dm_event(lambda e: e["event"].update(subtype="file_share", files="f")),
                 "application/json", "files is not a list"),
    HostileSlack("lone surrogate in an id", _dm_event(lambda e: e["event"].update(user="U\ud800")),
                 "application/json", "control characters"),
    HostileSlack("authorizations of the wrong type",
                 _dm_event(lambda e: e.update(authorizations="all")), "application/json",
                 "bolt cannot read it"),  # bolt's own context extraction fails on it
    HostileSlack("button press whose channel is not an object",
                 _action_form(lambda p: p.update(channel="C0SUPPORT")), FORM,
                 "channel is not an object"),
    HostileSlack("deletion whose previous message is not an object",
                 _dm_event(lambda e: e["event"].update(subtype="message_deleted",
                                                       deleted_ts="1700000000.000100",
                                                       previous_message="gone")),
                 "application/json", "previous_message is not an object"),
    HostileSlack("tombstone whose previous message is not an object",
                 _dm_event(lambda e: e["event"].update(
                     subtype="message_changed", previous_message="gone",
                     message={"subtype": "tombstone", "ts": "1700000000.000100",
                              "thread_ts": "1700000000.000001"})),
                 "application/json", "previous_message is not an object"),
    HostileSlack("nesting far deeper than any Slack payload",
                 _dm_event(lambda e: e["event"].update(blocks=_nested(200))), "application/json",
                 "nests deeper than"),
]


async def _slack_still_answers(served: Served) -> None:
    response = await served.slack_post(
        urlencode({"command": "/cases", "text": "", "user_id": AGENT, "channel_id": SUPPORT,
                   "team_id": slack_api.TEAM_ID, "trigger_id": "1.2.3",
                   "response_url": "https://hooks.slack.invalid/commands/1"}), FORM)
    assert response.status_code == 200 and response.text, response.text


async def test_malformed_slack_requests_never_get_a_5xx(
        served: Served, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    failures = []
    for hostile in SLACK_CASES:
        caplog.clear()
        events, messages = _count(served, ProcessedEventRow), _count(served, CaseMessageRow)
        response = await served.slack_post(hostile.body, hostile.content_type)
        logged = " | ".join(r.getMessage() for r in caplog.records)
        if response.status_code != 400 or hostile.logged not in logged:
            failures.append(f"{hostile.name}: {response.status_code} {response.text!r}; "
                            f"log: {logged!r}")
        if response.headers.get("X-Slack-No-Retry") != "1":
            failures.append(f"{hostile.name}: Slack would retry it")
        if (_count(served, ProcessedEventRow), _count(served, CaseMessageRow)) != (events, messages):
            failures.append(f"{hostile.name}: something was stored")
        await _slack_still_answers(served)
    assert failures == []


async def test_unknown_but_well_formed_action_is_not_an_error(
        served: Served, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    response = await served.slack_post(
        _action_form(lambda p: p["actions"][0].update(action_id="someone_elses_button")), FORM)
    assert 400 <= response.status_code < 500  # bolt: no listener for it
    assert response.headers.get("X-Slack-No-Retry") == "1"
    assert "someone_elses_button" in caplog.text and "nothing here handles it" in caplog.text


async def test_nul_and_lone_surrogates_in_an_agent_reply_are_stored_clean(
        served: Served, case: OpenedCase) -> None:
    event = slack_api.thread_reply_event(SUPPORT, case.parent_ts,
                                         "We found\x00 your parcel\ud83d, it ships today",
                                         ts=next_agent_ts())
    response = await served.slack_post(json.dumps(slack_api.event_envelope(event)),
                                       "application/json")
    assert response.status_code == 200, response.text
    await served.wait_inbox_empty()  # acknowledged first, processed after
    messages = served.services.cases.get_case(case.number).messages
    assert messages[-1].text == "We found your parcel, it ships today"


# Bodies over the cap, transient failures -------------------------------------------------------
async def test_oversize_bodies_get_413_on_both_endpoints(
        served: Served, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    limit = served.parts.max_request_bytes
    big = json.dumps(telegram_api.message_update("x" * (limit + 10))).encode()

    telegram = await served.telegram_update(big)
    slack = await served.slack_post(big, "application/json")

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(limit // 65_536 + 2):
            yield b" " * 65_536

    chunked = await served.http.post("/telegram/webhook", content=chunks(),
                                     headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET})

    assert [telegram.status_code, slack.status_code, chunked.status_code] == [413] * 3
    assert "too large" in telegram.text
    assert sum("over the" in r.getMessage() for r in caplog.records) == 3
    await _telegram_still_answers(served)


async def test_a_valid_update_the_database_cannot_take_gets_a_5xx(
        served: Served, caplog: pytest.LogCaptureFixture) -> None:
    """Not malformed: the platform must deliver it again, so it must not be acknowledged."""
    engine = served.parts.extra["engine"]
    working = engine.uow_factory

    def database_down() -> Any:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    engine.uow_factory = database_down
    try:
        response = await served.telegram_update(
            telegram_api.message_update("hello", user_id=next(_fresh_users)))
    finally:
        engine.uow_factory = working
    assert response.status_code >= 500
    assert "Traceback" not in response.text
    await _telegram_still_answers(served)


def test_id_limits_match_the_columns() -> None:
    from storage.models import IdentityRow as Identity
    from storage.models import ProcessedEventRow as Processed

    assert Identity.__table__.c.external_id.type.length == MAX_ID_CHARS  # type: ignore[attr-defined]
    assert Identity.__table__.c.address.type.length == MAX_ID_CHARS  # type: ignore[attr-defined]
    assert Processed.__table__.c.event_id.type.length == MAX_EVENT_ID_CHARS  # type: ignore[attr-defined]
