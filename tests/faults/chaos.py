"""Stand-ins whose sends fail at random, reproducibly: a seeded share of the calls that post or
change messages is answered 429 with Retry-After, 500, or slowly (the answer comes
``slow_seconds`` late, with the effect). Everything else behaves as the plain stand-in.

Built on the stand-ins' own fault mechanism (``_take_fault``): a decision is made per request
and handed to the base class through a context variable, so concurrent requests never take
each other's fault.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from typing import Any

from aiohttp import web

from tests.standins import Fault, HandlerResult, StandInServer, slack_api, telegram_api
from tests.standins.slack_api import SlackStandIn
from tests.standins.telegram_api import TelegramStandIn

SLOW = "slow"
_decided: ContextVar[Fault | None] = ContextVar("chaos_fault", default=None)


class Chaos:
    """Which calls fail, and how: ``rate`` of the calls to ``methods`` get one of ``faults``
    (or a slow answer), chosen by a generator seeded with ``seed``."""

    def __init__(self, methods: Sequence[str], faults: Sequence[Fault], seed: int = 0,
                 slow_seconds: float = 2.5) -> None:
        self.methods = frozenset(methods)
        self.faults = list(faults)
        self.slow_seconds = slow_seconds
        self.rate = 0.0
        self.seen: Counter[str] = Counter()  # what was decided: "ok", "slow", "429", "500"
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def start(self, rate: float) -> None:
        self.rate = rate

    def stop(self) -> None:
        self.rate = 0.0

    def decide(self, method: str) -> Fault | str | None:
        if method not in self.methods:
            return None
        with self._lock:
            if self.rate <= 0 or self._random.random() >= self.rate:
                self.seen["ok"] += 1
                return None
            options: list[Fault | str] = [*self.faults, SLOW]
            choice = self._random.choice(options)
        self.seen[choice if isinstance(choice, str) else str(choice.status)] += 1
        return choice

    def summary(self) -> str:
        return " ".join(f"{k}={v}" for k, v in sorted(self.seen.items())) or "none"


class _ChaosMixin(StandInServer):
    chaos: Chaos

    async def _handle(self, request: web.Request, method: str,
                      answer: Callable[[str, dict[str, Any]], Awaitable[HandlerResult]]
                      ) -> web.StreamResponse:
        decision = self.chaos.decide(method)
        if decision == SLOW:
            await asyncio.sleep(self.chaos.slow_seconds)
        token = _decided.set(decision if isinstance(decision, Fault) else None)
        try:
            return await super()._handle(request, method, answer)
        finally:
            _decided.reset(token)

    def _take_fault(self, method: str) -> Fault | None:
        return super()._take_fault(method) or _decided.get()


class ChaoticTelegram(_ChaosMixin, TelegramStandIn):
    """The Telegram stand-in; sendMessage and editMessageText may fail (flood wait of 1 s,
    500) or answer slowly."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        self.chaos = Chaos(["sendMessage", "editMessageText"],
                           [telegram_api.flood_wait(1), telegram_api.server_error(500)], seed)


class ChaoticSlack(_ChaosMixin, SlackStandIn):
    """The Slack stand-in; chat.postMessage, chat.update and reactions.add may fail (429 with
    Retry-After: 1, 500) or answer slowly."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        self.chaos = Chaos(["chat.postMessage", "chat.update", "reactions.add"],
                           [slack_api.rate_limited(1), slack_api.server_error(500)], seed)
