"""Two `frontdoor serve` processes on one PostgreSQL, as an operator runs them, with every
dependency behind something a test can break:

* PostgreSQL (a fresh database per test) and the Rasa server are reached through loopback TCP
  proxies (``cluster.pg``, ``cluster.rasa``) that can be cut;
* Telegram and Slack are stand-ins in this process (in a thread of their own) whose sends can
  fail at random (``cluster.telegram.chaos``), reached through proxies as well so they can
  refuse connections for a while;
* the processes themselves can be SIGKILLed and started again.

Before any traffic, ``sellers`` registered sellers each have one open case whose Slack parent
(and the description in its thread) has been posted.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from frontdoor.settings import Settings
from frontdoor.wiring import Services, build_services
from storage.migrate import upgrade
from storage.models import CaseRow, CaseThreadRow, OutboxRow
from tests.faults.chaos import ChaoticSlack, ChaoticTelegram
from tests.faults.serve_processes import ServeProcess, clean_environment
from tests.faults.tcp_proxy import TcpProxy

TELEGRAM_TOKEN = "123:FAULTS"
TELEGRAM_SECRET = "faults-webhook-secret"
SLACK_TOKEN = "xoxb-faults"
SIGNING_SECRET = "faults-signing-secret"
SUPPORT = "C0SUPPORT"
AGENT = "U0AGENT01"
#: FRONTDOOR_INBOUND_LEASE_SECONDS for the processes: short, so a claim left by a killed
#: process or a lost database runs out within the test.
INBOUND_LEASE_SECONDS = 3
FIRST_USER_ID = 7_100_001


@dataclass
class SellerCase:
    """A registered Telegram seller and their open case."""

    user_id: int
    name: str
    number: str
    parent_ts: str = ""

    @property
    def chat(self) -> str:
        return str(self.user_id)


@contextlib.contextmanager
def fresh_database(session_url: str) -> Iterator[str]:
    """A new, migrated database on the server of ``session_url``; dropped afterwards."""
    url = make_url(session_url)
    name = f"fd_faults_{uuid.uuid4().hex[:10]}"
    # Pre-ping: the server may have been restarted since (test_database_restart).
    admin = create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    database_url = url.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(database_url)
        yield database_url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def running_cluster(session_url: str, rasa_url: str, workdir: Path,
                    sellers: int) -> Iterator[Cluster]:
    """Two serve processes on a fresh database of the PostgreSQL server of ``session_url``,
    ``sellers`` open cases posted; everything stopped afterwards."""
    with fresh_database(session_url) as database_url, \
            ChaoticTelegram(seed=7).running_in_thread() as telegram, \
            ChaoticSlack(seed=11).running_in_thread() as slack:
        running = Cluster(workdir, database_url, rasa_url, telegram, slack)
        try:
            running.start(sellers=sellers)
            yield running
        finally:
            running.stop()


def _host_port(url: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or default_port


class Cluster:
    """Everything of one fault test; build it with :func:`running_cluster`."""

    def __init__(self, workdir: Path, database_url: str, rasa_url: str,
                 telegram: ChaoticTelegram, slack: ChaoticSlack) -> None:
        self.workdir = workdir
        self.database_url = database_url
        self.telegram = telegram
        self.slack = slack
        self.pg = TcpProxy(*_host_port(database_url, 5432), name="pg-proxy")
        self.rasa = TcpProxy(*_host_port(rasa_url, 80), name="rasa-proxy")
        self.telegram_proxy = TcpProxy("127.0.0.1", _host_port(telegram.origin, 80)[1],
                                       name="telegram-proxy")
        self.slack_proxy = TcpProxy("127.0.0.1", _host_port(slack.origin, 80)[1],
                                    name="slack-proxy")
        self.proxies = [self.pg, self.rasa, self.telegram_proxy, self.slack_proxy]
        self.processes: list[ServeProcess] = []
        self.sellers: list[SellerCase] = []
        self.services: Services = build_services(self._settings(database_url))

    # Settings ------------------------------------------------------------------------------
    def _settings(self, database_url: str) -> Settings:
        """What the test process uses to set up sellers and cases (directly, no proxy)."""
        return Settings(  # type: ignore[call-arg]
            _env_file=None, frontdoor_database_url=database_url,
            telegram_bot_token=TELEGRAM_TOKEN, telegram_webhook_secret=TELEGRAM_SECRET,
            slack_bot_token=SLACK_TOKEN, slack_signing_secret=SIGNING_SECRET,
            slack_support_channel=SUPPORT)

    def serve_environment(self) -> dict[str, str]:
        """The processes' settings: every dependency through its proxy."""
        proxied_db = make_url(self.database_url).set(host="127.0.0.1", port=self.pg.port)
        return clean_environment({
            "FRONTDOOR_DATABASE_URL": proxied_db.render_as_string(hide_password=False),
            "FRONTDOOR_NLU_URL": f"http://{self.rasa.address}",
            "FRONTDOOR_NLU_TIMEOUT": "3",
            "FRONTDOOR_INBOUND_LEASE_SECONDS": str(INBOUND_LEASE_SECONDS),
            # The scheduler stays quiet: its sweeps and digest are not under test here.
            "FRONTDOOR_SWEEP_INTERVAL_SECONDS": "3600",
            # (0 would be "never", but serve refuses it at start: apscheduler wants > 0.)
            "FRONTDOOR_DIGEST_CATCH_UP_HOURS": "1",
            "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
            "TELEGRAM_API_BASE_URL": f"http://{self.telegram_proxy.address}/bot",
            "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
            "TELEGRAM_MODE": "webhook",
            "SLACK_BOT_TOKEN": SLACK_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_BASE_URL": f"http://{self.slack_proxy.address}/api/",
            "SLACK_SUPPORT_CHANNEL": SUPPORT,
        })

    # Life cycle ----------------------------------------------------------------------------
    def start(self, sellers: int, processes: int = 2) -> None:
        for proxy in self.proxies:
            proxy.start()
        self.slack.set_members(SUPPORT, [AGENT])
        self.slack.add_user(AGENT, "bo", "Bo Agent")
        self._open_cases(sellers)
        env = self.serve_environment()
        self.processes = [ServeProcess(f"serve{i + 1}", env, self.workdir)
                          for i in range(processes)]
        for process in self.processes:
            process.start()
        for process in self.processes:
            process.wait_healthy()
        self._wait_for_parents()

    def stop(self) -> None:
        for process in self.processes:
            process.stop()
        for proxy in self.proxies:
            proxy.stop()
        self.services.database.dispose()

    def _open_cases(self, count: int) -> None:
        cases = self.services.cases
        for i in range(count):
            user_id = FIRST_USER_ID + i
            name = f"Seller {i + 1:02d}"
            identity, _ = cases.identify("telegram", str(user_id), str(user_id), name)
            invitation = cases.create_invitation(f"{name}'s Shop")
            seller = cases.register(identity.id, invitation.code)
            opened = cases.open_case(
                seller.id, "shipping",
                f"Parcel {i + 1} to the buyer never arrived, tracking is stuck since Monday",
                order_id=f"123-{i + 1:07d}-1234567", identity_id=identity.id)
            self.sellers.append(SellerCase(user_id, name, opened.case.number))

    def _wait_for_parents(self, timeout: float = 60.0) -> None:
        """Until every case's parent is posted and nothing is left in the outbox."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.services.database.sessions() as session:
                threads = dict(session.execute(
                    select(CaseRow.number, CaseThreadRow.parent_message_id).join(
                        CaseThreadRow, CaseThreadRow.case_id == CaseRow.id)).all())
            if all(threads.get(s.number) for s in self.sellers) and self.pending_outbox() == 0:
                for seller in self.sellers:
                    seller.parent_ts = str(threads[seller.number])
                return
            time.sleep(0.2)
        raise AssertionError(f"case parents not posted within {timeout}s: {threads}; "
                             f"logs:\n{self.processes[0].log_tail()}")

    # Looking at the database ----------------------------------------------------------------
    def scalar(self, stmt: Any) -> Any:
        with self.services.database.sessions() as session:
            return session.scalar(stmt)

    def pending_outbox(self) -> int:
        return int(self.scalar(select(func.count()).select_from(OutboxRow)
                               .where(OutboxRow.status == "pending")))

    def dead_letters(self) -> list[dict[str, Any]]:
        return self.services.outbox_queue.dead_letters(limit=1000)

    def pending_items(self) -> list[dict[str, Any]]:
        with self.services.database.sessions() as session:
            rows = session.scalars(select(OutboxRow).where(OutboxRow.status == "pending"))
            return [{"id": r.id, "kind": r.kind, "attempts": r.attempts,
                     "claimed_until": str(r.claimed_until), "error": r.last_error}
                    for r in rows]
