"""A web chat message the engine could not process, whose panel then stopped sending it again
(the seller closed the tab), is processed by the server's recovery, once
(adapters/web/chat_recovery.py)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

import bot.engine as engine_module
from bot.engine import Engine
from bot.texts import t
from bot.web_chat import BOT_LINE, WebChatLine, web_address
from storage.database import Database
from storage.models import ProcessedEventRow
from storage.web_chat_store import SqlWebChatStore
from tests.integration.test_web_chat import add_seller, chat_server


async def bot_lines(store: SqlWebChatStore, address: str) -> list[WebChatLine]:
    """The chat's bot lines, once the first has arrived (answers leave through the outbox)."""
    for _ in range(150):
        found = [line for line in store.last_lines(address, 10) if line.author == BOT_LINE]
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"no answer reached the web chat {address}")


async def test_a_message_left_unprocessed_is_processed_by_the_server_once(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    handle = Engine.handle
    failures = {"left": 1}

    async def down_once(self: Engine, msg: Any) -> Any:
        if failures["left"]:
            failures["left"] -= 1
            raise ConnectionError("the database went away mid-turn")
        return await handle(self, msg)

    monkeypatch.setattr(Engine, "handle", down_once)
    async with chat_server(db) as chat:
        seller_id = add_seller(chat.services)
        csrf = await chat.login(seller_id)
        client_id = uuid.uuid4().hex
        first = await chat.post(csrf, {"id": client_id, "text": "hello"})
        assert first.status_code == 503 and first.json()["retry"] is True
        # The seller closes the tab: the panel never sends it again.
        recovery = chat.web.recovery
        assert await recovery.recover_once() == 0  # the panel's own retries come first
        recovery.grace = timedelta(0)
        assert await recovery.recover_once() == 1

        def done() -> Any:
            return chat.scalar(select(ProcessedEventRow.lease_until).where(
                ProcessedEventRow.event_id == f"web-{client_id}"))

        assert chat.scalar(select(ProcessedEventRow.id).where(
            ProcessedEventRow.event_id == f"web-{client_id}")) is not None and done() is None
        store = SqlWebChatStore(db)
        answers = await bot_lines(store, web_address(seller_id))
        assert len(answers) == 1 and answers[0].payload["text"]
        # Done: neither the recovery nor a late retry of the panel processes it again.
        assert await recovery.recover_once() == 0
        assert (await chat.post(csrf, {"id": client_id, "text": "hello"})).status_code == 202
        await asyncio.sleep(0.5)
        assert len([line for line in store.last_lines(web_address(seller_id), 10)
                    if line.author == BOT_LINE]) == 1


async def test_a_button_press_is_recovered_as_a_button(
        sqlite_db: Database) -> None:
    async with chat_server(sqlite_db) as chat:
        seller_id = add_seller(chat.services)
        store = SqlWebChatStore(sqlite_db)
        address = web_address(seller_id)
        # A press stored by a process that died before handing it to the engine.
        assert store.add_seller_line(address, "c" * 32, {
            "kind": "message", "text": "My cases", "client_id": "c" * 32, "button": "cases"},
            chat.services.clock.now() - timedelta(minutes=5))
        assert await chat.web.recovery.recover_once() == 1
        assert chat.scalar(select(ProcessedEventRow.lease_until).where(
            ProcessedEventRow.event_id == f"web-{'c' * 32}")) is None
        # Answered as the button's (the seller's cases), not as the words "My cases".
        answers = await bot_lines(store, address)
        assert [line.payload["text"] for line in answers] == [t("status.none_active")]


def _line(store: SqlWebChatStore, address: str, client_id: str, text: str,
          when: datetime) -> None:
    assert store.add_seller_line(address, client_id, {"kind": "message", "text": text,
                                                      "client_id": client_id}, when)


async def test_a_turn_that_fails_in_the_engine_is_handed_over_once_not_again_and_again(
        sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    async with chat_server(sqlite_db) as chat:
        seller_id = add_seller(chat.services)
        store, address = SqlWebChatStore(sqlite_db), web_address(seller_id)
        _line(store, address, "d" * 32, "hello", chat.services.clock.now() - timedelta(minutes=5))

        async def broken(turn: Any) -> None:
            raise RuntimeError("a bug in a flow")

        monkeypatch.setattr("bot.engine.route", broken)
        recovery = chat.web.recovery
        assert await recovery.recover_once() == 1
        # The engine answered with its apology and gave the claim back: not handed over again.
        assert await recovery.recover_once() == 0
        assert await recovery.recover_once() == 0
        answers = await bot_lines(store, address)
        await asyncio.sleep(0.5)
        assert [line.payload["text"] for line in answers] == [t("engine.error")]
        assert len([line for line in store.last_lines(address, 10)
                    if line.author == BOT_LINE]) == 1


async def test_a_turn_the_database_failed_is_handed_over_again_and_processed_once(
        sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    async with chat_server(sqlite_db) as chat:
        seller_id = add_seller(chat.services)
        store, address = SqlWebChatStore(sqlite_db), web_address(seller_id)
        _line(store, address, "e" * 32, "hello", chat.services.clock.now() - timedelta(minutes=5))
        real_route = engine_module.route
        failures = [OperationalError("UPDATE cases", {}, Exception("database is locked"))]

        async def database_away_once(turn: Any) -> None:
            if failures:
                raise failures.pop()
            await real_route(turn)

        monkeypatch.setattr("bot.engine.route", database_away_once)
        recovery = chat.web.recovery
        assert await recovery.recover_once() == 0  # the engine raised: nothing answered
        assert await recovery.recover_once() == 1  # the next look hands it over again
        assert await recovery.recover_once() == 0  # done: not listed any more
        answers = await bot_lines(store, address)
        assert t("engine.error") not in [line.payload["text"] for line in answers]


async def test_a_line_the_seller_wrote_after_is_not_recovered_late(
        sqlite_db: Database) -> None:
    async with chat_server(sqlite_db) as chat:
        seller_id = add_seller(chat.services)
        store, address = SqlWebChatStore(sqlite_db), web_address(seller_id)
        now = chat.services.clock.now()
        # The panel said the first failed; the seller typed again (a new message id).
        _line(store, address, "e" * 32, "hello", now - timedelta(minutes=5))
        _line(store, address, "f" * 32, "hello?", now - timedelta(minutes=4))
        assert await chat.web.recovery.recover_once() == 1
        done = chat.scalar(select(ProcessedEventRow.event_id).where(
            ProcessedEventRow.source == "web"))
        assert done == f"web-{'f' * 32}"
