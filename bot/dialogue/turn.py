"""One turn of a conversation: the inbound message, who sent it, the state, the replies.

Flow modules receive a `Turn` and talk through it: ``say`` adds a reply from the text
catalogue, ``call`` runs blocking case-service code off the event loop, ``nlu`` classifies
the message once (lazily, and outside any database transaction).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from bot.cases import CaseService
from bot.classification import Classification, Classifier
from bot.clock import Clock
from bot.dialogue.config import EngineConfig
from bot.dialogue.state import DialogueState
from bot.dialogue.word_count import count_words
from bot.domain import Identity, Seller
from bot.knowledge import KnowledgeBase
from bot.labels import CASE_TYPES, ENTITY_CASE_NUMBER, ENTITY_ORDER_ID
from bot.messages import Button, Reply, SellerMessage
from bot.texts import t

T = TypeVar("T")


async def on_thread(thread: Executor | None, fn: Callable[..., T], *args: Any,
                    **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` on ``thread`` (None: the loop's default executor), with this
    context's variables, as ``asyncio.to_thread`` does."""
    if thread is None:
        return await asyncio.to_thread(fn, *args, **kwargs)
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(
        thread, functools.partial(context.run, fn, *args, **kwargs))


@dataclass
class Deps:
    """What every flow may use; built once by the engine."""

    cases: CaseService
    classifier: Classifier
    config: EngineConfig
    clock: Clock
    knowledge: KnowledgeBase


@dataclass
class Turn:
    msg: SellerMessage
    text: str  # the message text, cleaned of control characters
    identity: Identity
    seller: Seller | None
    state: DialogueState
    deps: Deps
    replies: list[Reply] = field(default_factory=list)
    prefetch: asyncio.Task[Classification] | None = None
    # Set by a flow that changed the identity row other than by registering a seller (which
    # the engine notices itself): the replies are then queued with the identity read again.
    identity_changed: bool = False
    # The case the router found this message continues (bot.dialogue.context), for the
    # actions that need "the case being talked about".
    focus: tuple[str, str | None] | None = None
    # Things read once per turn by the dialogue modules (e.g. the conversation context).
    memo: dict[str, Any] = field(default_factory=dict)
    # The turn's own worker thread (None: any of the default executor's).
    thread: Executor | None = None
    _nlu: Classification | None = None

    # Output ---------------------------------------------------------------------------------
    def say(self, key: str, buttons: tuple[Button, ...] | list[Button] = (),
            case_number: str | None = None, **values: Any) -> None:
        """Reply with catalogue text ``key``."""
        self.replies.append(Reply(t(key, **values), tuple(buttons), case_number))

    def reply_with(self, reply: Reply) -> None:
        """Reply with a reply built by the flow (several lines, its own buttons)."""
        self.replies.append(reply)

    # Work -----------------------------------------------------------------------------------
    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run blocking (database) code in the turn's worker thread (bot.engine says why it
        has one) so the event loop stays free."""
        return await on_thread(self.thread, fn, *args, **kwargs)

    async def nlu(self) -> Classification:
        """The classification of this message's text (computed once)."""
        if self._nlu is None and self.prefetch is not None:
            self._nlu = await self.prefetch
        if self._nlu is None:
            if not self.text.strip():
                # Nothing to read (an attachment alone): no point asking the NLU.
                self._nlu = Classification(self.text, None, 0.0)
            else:
                self._nlu = await self.deps.classifier.classify(self.text)
        return self._nlu

    async def intent(self) -> str | None:
        """The confident intent, or None (NLU down, or below the threshold: a case type's, or
        the higher one of an intent that acts or answers)."""
        c = await self.nlu()
        if not c.available or c.intent is None:
            return None
        needed = self.deps.config.confidence_needed(c.intent, self.text)
        return c.intent if c.confidence >= needed else None

    async def case_type(self) -> str | None:
        intent = await self.intent()
        return intent if intent in CASE_TYPES else None

    async def case_number(self) -> str | None:
        return (await self.nlu()).entity(ENTITY_CASE_NUMBER)

    async def order_id(self) -> str | None:
        return (await self.nlu()).entity(ENTITY_ORDER_ID)

    # Facts ----------------------------------------------------------------------------------
    @property
    def seller_id(self) -> int:
        assert self.seller is not None, "flow needs a registered seller"
        return self.seller.id

    @property
    def config(self) -> EngineConfig:
        return self.deps.config

    @property
    def cases(self) -> CaseService:
        return self.deps.cases

    def attachments(self) -> list[dict[str, Any]]:
        return [a.as_dict() for a in self.msg.attachments]

    def current_case(self) -> tuple[str, str | None] | None:
        return self.state.current_case(self.deps.clock.now(),
                                       timedelta(hours=self.config.followup_hours))

    def focus_case(self) -> tuple[str, str | None] | None:
        """The case this message is about when it names none: the router's placement if it
        made one, else the ongoing conversation's."""
        return self.focus or self.current_case()

    def remember_case(self, number: str, case_type: str | None) -> None:
        self.state.remember_case(number, case_type, self.deps.clock.now())

    def word_count(self) -> int:
        """Words in the message, Chinese included (bot.dialogue.word_count)."""
        return count_words(self.text)
