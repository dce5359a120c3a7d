"""A chat-like harness for engine tests: the seller says things, the bot's answers are
checked, buttons are pressed by their label. Reads like the conversation it tests::

    await chat.say("my order 123-1234567-1234567 never arrived")
    chat.expect("I'll open this case")
    await chat.press("Open the case")
    chat.expect("Opened CX-000001")
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from sqlalchemy import select

from bot import outbox as ob
from bot.cases import CaseService
from bot.clock import ManualClock
from bot.domain import Seller
from bot.engine import Engine, EngineConfig
from bot.knowledge import KnowledgeBase
from bot.messages import Attachment, Button, Reply, SellerMessage
from bot.relay import Relay
from storage.models import OutboxRow
from storage.uow import SqlUnitOfWorkFactory
from tests.fakes import FakeClassifier

# Keyword -> intent, first match wins (case types before small talk on purpose).
RULES: dict[str, str] = {
    "any update": "check_status",
    "status": "check_status",
    "reopen": "reopen_case",
    "urgent": "flag_urgent",
    "more time": "keep_open",
    "human": "talk_to_human",
    "real person": "talk_to_human",
    "never arrived": "shipping",
    "tracking": "shipping",
    "delivery": "shipping",
    "refund": "order",
    "buyer": "order",
    "disbursement": "payment",
    "payment": "payment",
    "suspended": "account_health",
    "performance notification": "account_health",
    "password": "account_access",
    "suppressed": "listing",
    "counterfeit": "policy",
    "hello": "greet",
    "thanks": "thank",
    "goodbye": "goodbye",
    "help me": "help",
    "weather": "out_of_scope",
    "joke": "out_of_scope",
    "cancel": "cancel",
}
_ids = itertools.count(1)


def make_engine(service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
                clock: ManualClock, classifier: Any = None,
                knowledge: KnowledgeBase | None = None, **config: Any) -> Engine:
    return Engine(service, uow_factory, classifier or FakeClassifier(dict(RULES), default=None),
                  relay, EngineConfig(**config), clock,
                  knowledge if knowledge is not None else KnowledgeBase.load())


class Chat:
    """One user's conversation with the engine."""

    def __init__(self, engine: Engine, uow_factory: SqlUnitOfWorkFactory, user: str = "100",
                 channel: str = "telegram", name: str = "Alice") -> None:
        self.engine = engine
        self.uow_factory = uow_factory
        self.user = user
        self.channel = channel
        self.name = name
        self.replies: list[Reply] = []
        self.transcript: list[str] = []

    # Speaking ---------------------------------------------------------------------------------
    async def send(self, **fields: Any) -> list[Reply]:
        fields.setdefault("event_id", f"ev-{next(_ids)}")
        msg = SellerMessage(channel=self.channel, user_id=self.user, chat_id=self.user,
                            display_name=self.name, **fields)
        self.transcript.append(f"> {fields.get('text') or fields.get('button') or fields}")
        self.replies = await self.engine.handle(msg)
        self.transcript += [f"< {r.text} {[b.label for b in r.buttons]}" for r in self.replies]
        return self.replies

    async def say(self, text: str, **fields: Any) -> list[Reply]:
        return await self.send(text=text, **fields)

    async def photo(self, caption: str = "", file_id: str = "ph1") -> list[Reply]:
        return await self.send(text=caption,
                               attachments=(Attachment("photo", file_id, "shot.jpg", "image/jpeg"),))

    async def command(self, name: str, args: str = "") -> list[Reply]:
        return await self.send(command=name, command_args=args, text=f"/{name} {args}".strip())

    async def press(self, label: str, **fields: Any) -> list[Reply]:
        """Press the button whose label contains ``label``: in the last replies, else in the
        latest messages the outbox holds for this chat (e.g. the evaluation prompt)."""
        button = self._find(label, [b for r in self.replies for b in r.buttons])
        if button is None:
            queued = [b for r in reversed(self.outbox()) for b in r.buttons]
            button = self._find(label, queued)
        assert button is not None, f"no button {label!r}; last replies:\n{self.text}"
        return await self.send(button=button.payload, text=button.label, **fields)

    @staticmethod
    def _find(label: str, buttons: list[Button]) -> Button | None:
        exact = [b for b in buttons if b.label == label]
        if exact:
            return exact[0]
        return next((b for b in buttons if label.lower() in b.label.lower()), None)

    # Checking ---------------------------------------------------------------------------------
    @property
    def text(self) -> str:
        return "\n".join(r.text for r in self.replies)

    @property
    def buttons(self) -> list[str]:
        return [b.label for r in self.replies for b in r.buttons]

    def expect(self, *fragments: str) -> None:
        for fragment in fragments:
            assert fragment in self.text, (
                f"expected {fragment!r} in the bot's answer; got:\n{self.text}\n"
                f"--- transcript ---\n" + "\n".join(self.transcript[-12:]))

    def expect_not(self, *fragments: str) -> None:
        for fragment in fragments:
            assert fragment not in self.text, f"did not expect {fragment!r}; got:\n{self.text}"

    def expect_buttons(self, *labels: str) -> None:
        for label in labels:
            assert any(label in b for b in self.buttons), (
                f"expected a button {label!r}; got {self.buttons}\n{self.text}")

    def outbox(self) -> list[Reply]:
        """Every seller message queued to this chat, oldest first."""
        with self.uow_factory() as uow:
            rows = uow.session.scalars(
                select(OutboxRow).where(OutboxRow.kind == ob.SELLER_MESSAGE,
                                        OutboxRow.destination == self.channel)
                .order_by(OutboxRow.id))
            return [Reply.from_dict(r.payload["reply"]) for r in rows
                    if r.payload.get("address") == self.user]


def register(service: CaseService, chat: Chat, name: str = "Acme Ltd",
             sub_of: int | None = None) -> Seller:
    """Make the chat's user a registered seller directly (registration has its own tests)."""
    inv = service.create_invitation(name, sub_account_of=sub_of)
    ident, _ = service.identify(chat.channel, chat.user, chat.user, chat.name)
    return service.register(ident.id, inv.code)


# Fixtures (import them into a test module by name) -------------------------------------------
@pytest.fixture
def engine(service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
           clock: ManualClock) -> Engine:
    return make_engine(service, uow_factory, relay, clock)


@pytest.fixture
def guest(engine: Engine, uow_factory: SqlUnitOfWorkFactory) -> Chat:
    """An unregistered user."""
    return Chat(engine, uow_factory, user="900", name="Guest")


@pytest.fixture
def chat(engine: Engine, uow_factory: SqlUnitOfWorkFactory, service: CaseService) -> Chat:
    """A registered seller's chat."""
    c = Chat(engine, uow_factory)
    register(service, c)
    return c
