"""Every kind of outbox item has a payload type, and what the relay queues matches it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, get_type_hints

from bot import outbox as ob
from bot.domain import Identity
from bot.messages import Reply
from bot.outbox_payloads import PAYLOAD_TYPES, SellerMessagePayload
from bot.relay import Relay, RelayConfig

NOW = datetime(2026, 1, 1, tzinfo=UTC)


class _Outbox:
    def __init__(self) -> None:
        self.queued: list[tuple[str, dict[str, Any]]] = []

    def add(self, destination: str, kind: str, payload: dict[str, Any], *_: object) -> int:
        self.queued.append((kind, dict(payload)))
        return len(self.queued)


class _Uow:
    def __init__(self) -> None:
        self.outbox = _Outbox()


def _kinds() -> set[str]:
    return {value for name, value in vars(ob).items() if name.isupper()
            and isinstance(value, str) and value.startswith(("seller.", "agents."))}


def test_every_kind_has_a_payload_type() -> None:
    assert set(PAYLOAD_TYPES) == _kinds()


def test_a_queued_reply_has_the_keys_of_its_type() -> None:
    uow = _Uow()
    identity = Identity(1, "telegram", "42", "42", "Alice", None)

    Relay(RelayConfig()).to_identity(uow, identity, Reply("hello"), NOW,  # type: ignore[arg-type]
                                     agent_ts="1700000000.000100", agent_channel="C0SUPPORT")

    [(kind, payload)] = uow.outbox.queued
    assert kind == ob.SELLER_MESSAGE
    assert set(payload) == set(get_type_hints(SellerMessagePayload))
    assert payload["reply"] == {"text": "hello", "buttons": [], "case_number": None}
