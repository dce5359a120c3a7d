"""The platforms' side of the webhooks: delivers Telegram updates and signed Slack events to the
`frontdoor serve` processes the way Telegram and Slack do, and redelivers whatever was not
answered with a 2xx (refused or reset connection, 5xx, no answer in time) after a short
delay, to either process, until it is answered or the deadline passes.

Every attempt is recorded, so a lost message can be traced to what each process answered.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.standins import slack_api, telegram_api

TELEGRAM_TIMEOUT = 10.0  # Telegram waits a while for a webhook; 10 s is plenty here
SLACK_TIMEOUT = 3.0  # Slack's own limit: no answer in 3 s is a failed delivery
RETRY_DELAYS = (0.3, 0.6, 1.0, 2.0)  # then 2 s between attempts


@dataclass
class Attempt:
    endpoint: str
    outcome: str  # HTTP status, or the exception's name
    at: float
    seconds: float


@dataclass
class Delivery:
    """One event delivered to our webhooks: a Telegram update or a Slack event."""

    kind: str  # "telegram" | "slack"
    event_id: str
    token: str
    attempts: list[Attempt] = field(default_factory=list)
    answered: bool = False

    def history(self) -> str:
        return ", ".join(f"{a.endpoint}:{a.outcome}({a.seconds:.1f}s)" for a in self.attempts)


class PlatformClient:
    """Posts to ``endpoints`` (base URLs of the serve processes) round-robin."""

    def __init__(self, endpoints: list[str], telegram_secret: str, signing_secret: str,
                 deadline: float = 60.0) -> None:
        self.endpoints = endpoints
        self.telegram_secret = telegram_secret
        self.signing_secret = signing_secret
        self.deadline = deadline
        self.deliveries: list[Delivery] = []
        self.malformed: Counter[str] = Counter()  # outcome -> count, for malformed bodies
        self._next = itertools.count()
        self._http = httpx.AsyncClient(limits=httpx.Limits(max_connections=200))

    async def aclose(self) -> None:
        await self._http.aclose()

    def outcomes(self) -> Counter[str]:
        """Every attempt's outcome, across deliveries."""
        return Counter(a.outcome for d in self.deliveries for a in d.attempts)

    async def _post(self, endpoint: str, path: str, body: bytes, headers: dict[str, str],
                    timeout: float) -> str:
        try:
            response = await self._http.post(f"{endpoint}{path}", content=body, headers=headers,
                                             timeout=timeout)
        except httpx.TimeoutException:
            return "timeout"
        except httpx.HTTPError as exc:
            return type(exc).__name__
        return str(response.status_code)

    async def _deliver(self, delivery: Delivery, path: str, timeout: float,
                       build: Any) -> Delivery:
        """Attempts until a 2xx; ``build(retry_number)`` gives the body and headers."""
        self.deliveries.append(delivery)
        first = next(self._next)
        started = time.monotonic()
        for number in itertools.count():
            endpoint = self.endpoints[(first + number) % len(self.endpoints)]
            body, headers = build(number)
            at = time.monotonic()
            outcome = await self._post(endpoint, path, body, headers, timeout)
            delivery.attempts.append(Attempt(endpoint, outcome, at, time.monotonic() - at))
            if outcome.startswith("2"):
                delivery.answered = True
                return delivery
            if time.monotonic() - started > self.deadline:
                return delivery
            await asyncio.sleep(RETRY_DELAYS[min(number, len(RETRY_DELAYS) - 1)])
        raise AssertionError("unreachable")

    # Telegram ----------------------------------------------------------------------------------
    async def telegram_update(self, update: dict[str, Any], token: str) -> Delivery:
        """POST ``update`` to /telegram/webhook until answered (Telegram sends the same update
        again, same update_id, after a failure)."""
        body = telegram_api.as_json(update)
        headers = {"Content-Type": "application/json",
                   "X-Telegram-Bot-Api-Secret-Token": self.telegram_secret}
        return await self._deliver(Delivery("telegram", str(update["update_id"]), token),
                                   "/telegram/webhook", TELEGRAM_TIMEOUT,
                                   lambda _n: (body, headers))

    # Slack -----------------------------------------------------------------------------------
    async def slack_event(self, event: dict[str, Any], event_id: str, token: str) -> Delivery:
        """POST a signed ``event_callback`` to /slack/events until answered; retries carry
        X-Slack-Retry-Num and X-Slack-Retry-Reason, and a fresh signature, as Slack's do."""
        body = json.dumps(slack_api.event_envelope(event, event_id)).encode()

        def build(number: int) -> tuple[bytes, dict[str, str]]:
            headers = {"Content-Type": "application/json",
                       **slack_api.signed_headers(self.signing_secret, body)}
            if number:
                headers["X-Slack-Retry-Num"] = str(number)
                headers["X-Slack-Retry-Reason"] = "http_error"
            return body, headers

        return await self._deliver(Delivery("slack", event_id, token), "/slack/events",
                                   SLACK_TIMEOUT, build)

    # Malformed input -------------------------------------------------------------------------
    async def send_malformed(self) -> None:
        """Bodies no platform sends, correctly authenticated, to each process: never a 5xx."""
        bodies = [
            ("/telegram/webhook", b"{not json",
             {"Content-Type": "application/json",
              "X-Telegram-Bot-Api-Secret-Token": self.telegram_secret}),
            ("/telegram/webhook", b'{"update_id": "seven"}',
             {"Content-Type": "application/json",
              "X-Telegram-Bot-Api-Secret-Token": self.telegram_secret}),
            ("/slack/events", b"{not json",
             {"Content-Type": "application/json",
              **slack_api.signed_headers(self.signing_secret, b"{not json")}),
        ]
        for endpoint in self.endpoints:
            for path, body, headers in bodies:
                outcome = await self._post(endpoint, path, body, headers, TELEGRAM_TIMEOUT)
                self.malformed[outcome] += 1

    def malformed_5xx(self) -> int:
        return sum(n for outcome, n in self.malformed.items() if outcome.startswith("5"))
