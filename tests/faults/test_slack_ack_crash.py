"""Slack's 3 seconds, across a crash: a Slack event is acknowledged before the engine runs, and
a process killed after the acknowledgement, before the event was processed, loses nothing.

Slack never sends an acknowledged event again, so the event must already be recorded when the
200 leaves: the other `frontdoor serve` process finds the record once its lease runs out and
processes it, once.

The NLU here is a stand-in whose parse can be held for a while: a seller's DM turn then waits
for it after the acknowledgement, which is the window the process is killed in.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from sqlalchemy import func, select

from storage.models import InboxRow, ProcessedEventRow
from tests.faults.chaos import ChaoticSlack, ChaoticTelegram
from tests.faults.cluster import INBOUND_LEASE_SECONDS, SIGNING_SECRET, Cluster, fresh_database
from tests.standins import HandlerResult, StandInServer, slack_api

SELLER = "U0DMSELLER"
DM = "D0DMSELLER"
HELD_SECONDS = 2.5  # below the app's NLU timeout (3 s), above the time to kill the process


class HeldRasa(StandInServer):
    """Answers Rasa's ``/model/parse`` with no intent (the message names its case, so the
    engine places it anyway), after ``HELD_SECONDS`` while ``hold`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.hold = threading.Event()

    def _routes(self) -> list[tuple[str, str, Callable[[web.Request],
                                                         Awaitable[web.StreamResponse]]]]:
        return [("POST", "/model/parse", self._on_parse), ("GET", "/status", self._on_status)]

    async def _on_parse(self, request: web.Request) -> web.StreamResponse:
        async def answer(_method: str, params: dict[str, Any]) -> HandlerResult:
            if self.hold.is_set():
                await asyncio.sleep(HELD_SECONDS)
            return 200, {"text": params.get("text", ""), "intent": None,
                         "intent_ranking": [], "entities": []}

        return await self._handle(request, "parse", answer)

    async def _on_status(self, request: web.Request) -> web.StreamResponse:
        async def answer(_method: str, _params: dict[str, Any]) -> HandlerResult:
            return 200, {"model_file": "held-rasa.tar.gz"}

        return await self._handle(request, "status", answer)


@pytest.fixture
def held_rasa() -> Iterator[HeldRasa]:
    with HeldRasa().running_in_thread() as rasa:
        yield rasa


@pytest.fixture
def slack_cluster(postgres_url: str, held_rasa: HeldRasa, tmp_path: Path) -> Iterator[Cluster]:
    with fresh_database(postgres_url) as database_url, \
            ChaoticTelegram(seed=7).running_in_thread() as telegram, \
            ChaoticSlack(seed=11).running_in_thread() as slack:
        running = Cluster(tmp_path, database_url, held_rasa.origin, telegram, slack)
        try:
            running.start(sellers=1)
            yield running
        finally:
            running.stop()


def _slack_seller_case(cluster: Cluster) -> str:
    """A seller registered in a Slack DM with an open case whose thread is posted."""
    cases = cluster.services.cases
    identity, _ = cases.identify("slack", SELLER, DM, "Dee Seller")
    seller = cases.register(identity.id, cases.create_invitation("Dee's Shop").code)
    number = cases.open_case(seller.id, "shipping", "Parcel to the buyer never arrived",
                             order_id="123-7654321-1234567", identity_id=identity.id).case.number
    deadline = time.monotonic() + 30
    while cluster.pending_outbox() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert cluster.pending_outbox() == 0, cluster.pending_items()
    return number


def _count(cluster: Cluster, model: Any) -> int:
    return int(cluster.scalar(select(func.count()).select_from(model)))


def test_a_slack_event_acknowledged_then_lost_to_a_kill_is_processed_by_the_other_process(
        slack_cluster: Cluster, held_rasa: HeldRasa) -> None:
    cluster = slack_cluster
    number = _slack_seller_case(cluster)
    token = "tk-acked-then-killed"
    text = f"More details for {number}: the buyer sent a photo of the box, reference {token}"
    event = {"type": "message", "channel": DM, "channel_type": "im", "user": SELLER,
             "text": text, "ts": "1700000000.000100", "team": slack_api.TEAM_ID}
    body = json.dumps(slack_api.event_envelope(event, "EvACKEDKILLED")).encode()
    doomed, survivor = cluster.processes
    held_rasa.hold.set()

    started = time.monotonic()
    response = httpx.post(f"{doomed.url}/slack/events", content=body, timeout=3.0,
                          headers={"Content-Type": "application/json",
                                   **slack_api.signed_headers(SIGNING_SECRET, body)})
    acked_after = time.monotonic() - started
    doomed.kill()  # the turn is waiting for the NLU: acknowledged, not processed

    assert response.status_code == 200
    assert acked_after < HELD_SECONDS  # answered before the turn could have finished
    assert _count(cluster, InboxRow) == 1  # recorded before the acknowledgement
    seller_posts = [r for r in cluster.slack.calls("chat.postMessage") if r.get("channel") == DM]
    assert seller_posts == []  # nothing of the turn happened before the kill
    held_rasa.hold.clear()

    def delivered() -> tuple[list[Any], list[Any]]:
        posts = [r for r in cluster.slack.calls("chat.postMessage") if r.status == 200]
        return ([r for r in posts if r.get("channel") == DM and number in r.get("text", "")],
                [r for r in posts if r.get("thread_ts") and token in r.get("text", "")])

    deadline = time.monotonic() + INBOUND_LEASE_SECONDS + 30
    while time.monotonic() < deadline:
        answers, thread = delivered()
        if answers and thread and _count(cluster, InboxRow) == 0 and cluster.pending_outbox() == 0:
            break
        time.sleep(0.2)
    time.sleep(1.0)  # a duplicate would come right after
    answers, thread = delivered()
    assert len(answers) == 1, [r.get("text") for r in answers]  # the seller's answer, once
    assert len(thread) == 1, [r.get("text") for r in thread]
    assert _count(cluster, InboxRow) == 0
    assert _count(cluster, ProcessedEventRow) >= 1
    assert survivor.log_lines("recovering Slack event EvACKEDKILLED"), survivor.log_tail()
