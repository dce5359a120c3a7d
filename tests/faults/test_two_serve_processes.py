"""Issue 10's faults, each with two `frontdoor serve` processes on one PostgreSQL, the real Rasa
server and the platform stand-ins, under modest traffic (20 sellers x 3 follow-ups, 20 agent
replies, malformed requests sprinkled in), counted by token afterwards.

Targets: 0 lost; 0 duplicated, except a Telegram send in flight at the moment of a SIGKILL
(Telegram cannot be asked whether it has a message; Slack can); 0 dead letters; 0 responses
of 5xx to malformed input. Each test prints a one-line summary (run with ``-s`` to see it).

The outbox lease is 60 s and not a setting: a send cut short by a kill or a database outage
is retried only when its lease runs out, so those scenarios wait up to 90 s to settle.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from bot.classification import Classification
from nlu.client import RasaClassifier
from tests.faults.cluster import Cluster
from tests.faults.platform_client import PlatformClient
from tests.faults.report import Report, count
from tests.faults.traffic import (
    AGENT_TEXT,
    SELLER_TEXTS,
    Plan,
    new_token,
    run_traffic,
    wait_until_settled,
)

pytestmark = [pytest.mark.postgres, pytest.mark.rasa]

PLAN = Plan(messages_per_seller=3, spread_seconds=6.0)
SETTLE = 60.0
SETTLE_AFTER_LEASE = 90.0  # a claim cut short is retried when the 60 s outbox lease runs out


async def run_scenario(name: str, cluster: Cluster, platforms: PlatformClient,
                       fault: Callable[[], Awaitable[None]], settle: float,
                       notes: Callable[[], list[str]] = list) -> Report:
    traffic = await run_traffic(cluster, platforms, PLAN, fault)
    waited = await wait_until_settled(cluster, traffic, settle)
    report = await asyncio.to_thread(count, name, cluster, platforms, traffic, waited, notes())
    print(report.line())
    problems = report.problems()
    logs = "\n".join(f"--- {p.name} (last lines) ---\n{p.log_tail(25)}"
                     for p in cluster.processes)
    assert not problems, "\n".join([report.line(), *problems[:40], logs])
    return report


def attempts_during(platforms: PlatformClient, proxy_cuts: list[tuple[float, float]]) -> int:
    """Inbound attempts made while a cut was on: the fault met traffic."""
    return sum(1 for d in platforms.deliveries for a in d.attempts
               for start, seconds in proxy_cuts if start <= a.at <= start + seconds)


async def test_platform_errors_and_refused_connections(
        cluster: Cluster, platforms: PlatformClient) -> None:
    """For 10 s, 25% of sends are answered 429 (Retry-After 1 s), 500, or 2.5 s late, and in
    the middle of it both platforms refuse connections for 4 s; then they recover. Every
    message arrives once."""

    async def fault() -> None:
        cluster.telegram.chaos.start(0.25)
        cluster.slack.chaos.start(0.25)
        await asyncio.sleep(2.5)
        cluster.telegram_proxy.cut(4.0, gentle=True)
        cluster.slack_proxy.cut(4.0, gentle=True)
        # The bad spell ends. Faults that went on through the settling would fall, once most
        # chats are done, on the last item still retrying, one decision after another of the
        # seeded sequence: a run of faults there (seed 7 has one) failed the same item seven
        # times and parked it for a minute past the settling window, in about one run in six.
        await asyncio.sleep(7.5)
        cluster.telegram.chaos.stop()
        cluster.slack.chaos.stop()

    def notes() -> list[str]:
        return [f"telegram sends: {cluster.telegram.chaos.summary()}",
                f"slack sends: {cluster.slack.chaos.summary()}"]

    report = await run_scenario("platform faults", cluster, platforms, fault, SETTLE, notes)
    # The faults really happened: sends failed on both platforms, pooled connections were cut.
    for chaos in (cluster.telegram.chaos, cluster.slack.chaos):
        assert sum(n for k, n in chaos.seen.items() if k != "ok") > 0, report.line()
    assert cluster.telegram_proxy.connections_cut + cluster.slack_proxy.connections_cut > 0


async def test_database_unreachable_for_5_seconds(
        cluster: Cluster, platforms: PlatformClient) -> None:
    """Every connection to PostgreSQL is reset and new ones refused for 5 s mid-traffic (a
    database restart, as the processes see it). Sends take 0.3 s, so some are in flight."""
    cluster.telegram.latency = cluster.slack.latency = 0.3

    async def fault() -> None:
        await asyncio.sleep(2.0)
        cluster.pg.cut(5.0)

    await run_scenario("database cut 5s", cluster, platforms, fault, SETTLE_AFTER_LEASE,
                       lambda: [f"pg connections cut {cluster.pg.connections_cut}, made "
                                f"{cluster.pg.connections_made}"])
    assert cluster.pg.connections_cut > 0 and attempts_during(platforms, cluster.pg.cuts) > 0


async def test_rasa_down_and_back(cluster: Cluster, platforms: PlatformClient) -> None:
    """Rasa refuses connections for 6 s mid-traffic: messages are still placed (by their case
    number) and answered; none is lost."""

    async def fault() -> None:
        await asyncio.sleep(1.5)
        cluster.rasa.cut(6.0)

    await run_scenario("rasa cut 6s", cluster, platforms, fault, SETTLE,
                       lambda: [f"rasa connections cut {cluster.rasa.connections_cut}, made "
                                f"{cluster.rasa.connections_made}; inbound attempts while cut "
                                f"{attempts_during(platforms, cluster.rasa.cuts)}"])
    assert attempts_during(platforms, cluster.rasa.cuts) > 0


async def test_sigkill_of_one_process_mid_traffic(
        cluster: Cluster, platforms: PlatformClient) -> None:
    """One process is SIGKILLed mid-traffic and started again 2 s later; the platforms
    redeliver to either. Sends take 0.2 s, so some are in flight at the kill."""
    cluster.telegram.latency = cluster.slack.latency = 0.2
    victim = cluster.processes[0]

    async def fault() -> None:
        await asyncio.sleep(2.5)
        victim.kill()
        await asyncio.sleep(2.0)
        victim.start()
        await asyncio.to_thread(victim.wait_healthy)

    await run_scenario("sigkill + restart", cluster, platforms, fault, SETTLE_AFTER_LEASE)
    assert victim.kills and victim.starts == 2
    refused = sum(n for k, n in platforms.outcomes().items() if not k.startswith("2"))
    assert refused > 0  # the platforms met the dead process and redelivered


# The harness's own assumption --------------------------------------------------------------
# Intents the engine acts on instead of adding the message to the case.
_NOT_A_DETAIL = {"check_status", "reopen_case", "flag_urgent", "keep_open", "talk_to_human",
                 "cancel", "greet", "thank", "goodbye", "help", "affirm", "deny"}


async def test_seller_texts_are_read_as_case_details(rasa_url: str) -> None:
    """The traffic's texts are follow-ups to the model, so a lost one is the server's fault."""
    async with RasaClassifier(rasa_url) as classifier:
        readings: list[Classification] = [
            await classifier.classify(text.format(number="CX-000001", token=new_token()))
            for text in SELLER_TEXTS for _ in range(15)]
    assert all(r.available for r in readings)
    assert [r.intent for r in readings if r.intent in _NOT_A_DETAIL] == [], readings
    assert all(r.entity("case_number") == "CX-000001" for r in readings), readings
    assert "note:" not in AGENT_TEXT.lower()  # agents' notes are never relayed
