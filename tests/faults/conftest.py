"""Fixtures of the fault tests: a running two-process cluster per test, and the platforms'
client that talks to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.faults.chaos import ChaoticSlack, ChaoticTelegram
from tests.faults.cluster import SIGNING_SECRET, TELEGRAM_SECRET, Cluster, fresh_database
from tests.faults.platform_client import PlatformClient

SELLERS = 20


@pytest.fixture
def cluster(postgres_url: str, rasa_url: str, tmp_path: Path) -> Iterator[Cluster]:
    """Two serve processes on a fresh PostgreSQL database (``postgres_url`` makes these
    tests fail in CI without PostgreSQL, like the others), ``SELLERS`` open cases posted."""
    with fresh_database(postgres_url) as database_url, \
            ChaoticTelegram(seed=7).running_in_thread() as telegram, \
            ChaoticSlack(seed=11).running_in_thread() as slack:
        running = Cluster(tmp_path, database_url, rasa_url, telegram, slack)
        try:
            running.start(sellers=SELLERS)
            yield running
        finally:
            running.stop()


@pytest.fixture
async def platforms(cluster: Cluster) -> AsyncIterator[PlatformClient]:
    client = PlatformClient([p.url for p in cluster.processes], TELEGRAM_SECRET,
                            SIGNING_SECRET)
    try:
        yield client
    finally:
        await client.aclose()
