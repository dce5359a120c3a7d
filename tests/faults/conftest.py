"""Fixtures of the fault tests: a running two-process cluster per test, and the platforms'
client that talks to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.faults.cluster import SIGNING_SECRET, TELEGRAM_SECRET, Cluster, running_cluster
from tests.faults.platform_client import PlatformClient

SELLERS = 20


@pytest.fixture
def cluster(postgres_url: str, rasa_url: str, tmp_path: Path) -> Iterator[Cluster]:
    """Two serve processes on a fresh PostgreSQL database (``postgres_url`` makes these
    tests fail in CI without PostgreSQL, like the others), ``SELLERS`` open cases posted."""
    with running_cluster(postgres_url, rasa_url, tmp_path, SELLERS) as running:
        yield running


@pytest.fixture
async def platforms(cluster: Cluster) -> AsyncIterator[PlatformClient]:
    client = PlatformClient([p.url for p in cluster.processes], TELEGRAM_SECRET,
                            SIGNING_SECRET)
    try:
        yield client
    finally:
        await client.aclose()
