"""Issue 10's "the database ... restarted", for real: PostgreSQL itself is stopped mid-traffic
and started again, with the two serve processes, the real Rasa and the platform stand-ins of
the other fault tests, counted by token with the same targets (0 lost, 0 duplicated, 0 dead
letters, no 5xx to malformed input).

test_two_serve_processes cuts the connections in front of the shared test server instead (it
cannot be restarted under other tests); here the test has a server of its own
(tests/faults/private_postgres), so the sessions end the way a restart ends them: PostgreSQL
terminates them, rolls their transactions back and checkpoints before it goes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.cluster import Cluster, running_cluster
from tests.faults.conftest import SELLERS
from tests.faults.platform_client import PlatformClient
from tests.faults.private_postgres import PrivatePostgres, private_postgres
from tests.faults.test_two_serve_processes import (
    SETTLE_AFTER_LEASE,
    attempts_during,
    run_scenario,
)

pytestmark = [pytest.mark.postgres, pytest.mark.rasa]

DOWN_SECONDS = 4.0


@pytest.fixture
def server() -> Iterator[PrivatePostgres]:
    with private_postgres() as running:
        yield running


@pytest.fixture
def cluster(server: PrivatePostgres, rasa_url: str, tmp_path: Path) -> Iterator[Cluster]:
    """The fault tests' cluster (the platforms' client comes with it), on the private server."""
    with running_cluster(server.url, rasa_url, tmp_path, SELLERS) as running:
        yield running


async def test_database_stopped_and_started_again(
        server: PrivatePostgres, cluster: Cluster, platforms: PlatformClient) -> None:
    """A fast shutdown of PostgreSQL mid-traffic, 4 s down, then started again. Sends take
    0.3 s, so some are in flight when their sessions are ended."""
    cluster.telegram.latency = cluster.slack.latency = 0.3

    async def fault() -> None:
        await asyncio.sleep(2.0)
        await asyncio.to_thread(server.stop, "fast")
        await asyncio.sleep(DOWN_SECONDS)
        await asyncio.to_thread(server.start)

    await run_scenario("database restart", cluster, platforms, fault, SETTLE_AFTER_LEASE,
                       lambda: [f"postgres down {seconds:.1f}s"
                                for _at, seconds in server.downtimes])
    assert len(server.downtimes) == 1, server.log_tail()
    assert attempts_during(platforms, server.downtimes) > 0  # the restart met the traffic
    # The processes' sessions were ended by the server, not by a proxy.
    assert "terminating connection due to administrator command" in server.log.read_text()
