"""The seller portal's pages under load: My cases (the default list, and a search) and a
case's details, for a seller with 1,000 cases, while the cases table holds 10,000 and then
1,000,000 rows (PostgreSQL). The baseline is a bare /healthz on the same server, measured in
the same rounds at the same concurrency; the question is whether a page's cost grows with the
table (it must not: every query is on an index starting with the seller or the case).

The server runs as its own process (`frontdoor serve`'s app under uvicorn on 127.0.0.1); the
client keeps ``--concurrency`` requests in flight. The data are written set-based
(INSERT ... SELECT generate_series), in a database made for the run and dropped after it.

    python -m bench.bench_portal [--database-url URL] [--sizes 10000,1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.report import percentile, write_section

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SECRET = "bench-portal-session-secret-0123456789"
PUBLIC = "http://127.0.0.1"
SELLERS = 1_000  # the table's other rows are spread over these


@dataclass(frozen=True)
class Result:
    size: int
    page: str
    p50: float  # ms, median over rounds
    p99: float
    rounds_p50: tuple[float, ...]


# The data ----------------------------------------------------------------------------------
def seed(url: str, seller_cases: int) -> None:
    """Sellers, and the measured seller's cases (seller 1) with four messages each."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO merchants (id, name, created_at) VALUES (1, 'Bench', now())"))
        conn.execute(text(
            "INSERT INTO sellers (id, merchant_id, display_name, is_main, created_at) "
            "SELECT g, 1, 'Seller ' || g, g = 1, now() FROM generate_series(1, CAST(:n AS int)) g"),
            {"n": SELLERS})
        _cases(conn, 1, seller_cases, measured=True)
        conn.execute(text(
            "INSERT INTO case_messages (case_id, author_kind, author_ref, author_name, text, "
            "attachments, internal, created_at, read_at) "
            "SELECT c.id, CASE WHEN k % 2 = 0 THEN 'seller' ELSE 'agent' END, 'x', 'Someone', "
            "'Message ' || k || ' about the parcel that did not arrive in time', '[]', false, "
            "c.created_at + k * interval '1 minute', "
            "CASE WHEN k = 3 THEN NULL ELSE now() END "
            "FROM cases c CROSS JOIN generate_series(0, 3) k WHERE c.seller_id = 1"))
    engine.dispose()


def _cases(conn: object, first: int, last: int, measured: bool) -> None:
    """Cases ``first``..``last`` (ids), of seller 1 when ``measured``, else of the others."""
    seller = "1" if measured else f"2 + (g % {SELLERS - 1})"
    conn.execute(text(  # type: ignore[attr-defined]
        "INSERT INTO cases (id, number, seller_id, case_type, order_key, subject_key, title, "
        "status, urgent, needs_human, keep_open_count, created_at, updated_at, "
        "status_changed_at, reminders_sent, first_response_warning_sent, "
        "first_response_breach_sent) "
        f"SELECT g, 'CX-' || CASE WHEN g < 1000000 THEN lpad(g::text, 6, '0') ELSE g::text END, "
        f"{seller}, "
        "(ARRAY['shipping','order','payment','listing'])[1 + g % 4], "
        "'123-' || lpad(g::text, 7, '0') || '-0000000', '', "
        "'Shipping · 123-' || lpad(g::text, 7, '0') || '-0000000', "
        "(ARRAY['open','investigating','pending','resolved','closed'])[1 + g % 5], "
        "false, false, 0, now() - g * interval '1 minute', now() - g * interval '1 minute', "
        "now() - g * interval '1 minute', 0, false, false "
        "FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) g"),
        {"first": first, "last": last})


def grow(url: str, have: int, size: int) -> None:
    """Other sellers' cases up to ``size`` rows, one message each; then fresh statistics."""
    engine = create_engine(url)
    with engine.begin() as conn:
        _cases(conn, have + 1, size, measured=False)
        conn.execute(text(
            "INSERT INTO case_messages (case_id, author_kind, author_ref, author_name, text, "
            "attachments, internal, created_at) SELECT id, 'seller', 'x', 'Someone', "
            "'A message', '[]', false, created_at FROM cases WHERE id > :have"), {"have": have})
        conn.execute(text("SELECT setval(pg_get_serial_sequence('cases', 'id'), :n)"),
                     {"n": size})
        conn.execute(text("SELECT setval(pg_get_serial_sequence('case_messages', 'id'), "
                          "(SELECT max(id) FROM case_messages))"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()


# What the pages' queries touch ---------------------------------------------------------------
def page_buffers(url: str, number: str) -> dict[str, tuple[int, int, float]]:
    """(statements, shared buffers touched, execution ms) of the reads behind each page, from
    EXPLAIN (ANALYZE, BUFFERS) of the very statements the page's calls send: a count that a
    busy machine does not blur, and that grows with the table only if a query scans it."""
    from sqlalchemy import event

    from bot.domain import ACTIVE_STATUSES
    from frontdoor.settings import Settings
    from frontdoor.wiring import build_services
    from storage.portal_queries import SqlPortalQueries

    services = build_services(Settings(_env_file=None,  # type: ignore[call-arg]
                                       frontdoor_database_url=url))
    queries = SqlPortalQueries(services.database)
    calls = {
        "My cases (in progress, first page)":
            lambda: queries.cases_page(1, ACTIVE_STATUSES, None, None, 0, 25),
        "My cases, search by order id":
            lambda: queries.cases_page(1, None, "123-0000007", None, 0, 25),
        "Case details": lambda: services.cases.get_case(number, 1),
    }
    sent: list[tuple[str, object]] = []

    def record(_conn: object, _cursor: object, statement: str, parameters: object,
               _context: object, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            sent.append((statement, parameters))

    engine = services.database.engine
    touched: dict[str, tuple[int, int, float]] = {}
    for page, call in calls.items():
        call()  # warm: plans and caches as on a running server
        sent.clear()
        event.listen(engine, "before_cursor_execute", record)
        try:
            call()
        finally:
            event.remove(engine, "before_cursor_execute", record)
        blocks, took = 0, 0.0
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            for statement, parameters in sent:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement,
                               parameters)
                explained = cursor.fetchone()[0][0]
                blocks += _blocks(explained["Plan"])
                took += float(explained["Execution Time"])
        finally:
            raw.close()
        touched[page] = (len(sent), blocks, took)
    services.database.dispose()
    return touched


def _blocks(plan: dict[str, int]) -> int:
    """Shared buffers the plan's top node touched (it includes its children's)."""
    return int(plan.get("Shared Hit Blocks", 0)) + int(plan.get("Shared Read Blocks", 0))


# The server --------------------------------------------------------------------------------
def serve(url: str, port: int) -> None:
    """The server process: the portal on `frontdoor serve`'s app, no platforms."""
    import uvicorn

    from bot.offline_classifier import OfflineClassifier
    from frontdoor.serve_app import build_server
    from frontdoor.server import create_app
    from frontdoor.settings import Settings
    from frontdoor.wiring import build_services

    settings = Settings(_env_file=None, frontdoor_database_url=url,  # type: ignore[call-arg]
                        frontdoor_portal=True, frontdoor_public_url=PUBLIC,
                        frontdoor_session_secret=SECRET)
    parts = build_server(build_services(settings), OfflineClassifier(), with_scheduler=False)
    uvicorn.run(create_app(parts), host="127.0.0.1", port=port, log_level="warning",
                access_log=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def log_in(client: httpx.AsyncClient) -> None:
    from bot.portal_login import PortalLogin

    token = PortalLogin(PUBLIC, SECRET, None).issue_token(1)
    page = await client.get(f"/portal/login/{token}")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    answer = await client.post(f"/portal/login/{token}", data={"csrf_token": found.group(1)})
    assert answer.status_code == 303, answer.text


async def measure(client: httpx.AsyncClient, path: str, requests: int,
                  concurrency: int) -> list[float]:
    """Latencies (ms) of ``requests`` GETs of ``path``, ``concurrency`` in flight."""
    latencies: list[float] = []
    remaining = iter(range(requests))

    async def worker() -> None:
        for _ in remaining:
            start = time.perf_counter()
            response = await client.get(path)
            latencies.append((time.perf_counter() - start) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"{path}: {response.status_code} {response.text[:200]}")

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


async def run_all(bases: dict[int, str], pages: dict[str, str], requests: int,
                  concurrency: int, rounds: int) -> list[Result]:
    """Every page of every table size, interleaved round by round: a busy spell of the
    machine slows both sizes alike, so their difference is the table's."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    clients = {size: httpx.AsyncClient(base_url=base, timeout=60, limits=limits)
               for size, base in bases.items()}
    runs: dict[tuple[int, str], list[tuple[float, float]]] = {
        (size, name): [] for size in bases for name in pages}
    try:
        for client in clients.values():
            await log_in(client)
            for path in pages.values():  # warm up: connections, caches, the read marks
                await measure(client, path, 2 * concurrency, concurrency)
        for _ in range(rounds):
            for size, client in clients.items():
                for name, path in pages.items():
                    latencies = await measure(client, path, requests, concurrency)
                    runs[(size, name)].append((percentile(latencies, 50),
                                               percentile(latencies, 99)))
    finally:
        for client in clients.values():
            await client.aclose()
    return [Result(size, name, statistics.median(p for p, _ in found),
                   statistics.median(p for _, p in found), tuple(p for p, _ in found))
            for (size, name), found in runs.items()]


def wait_ready(base: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the server process exited")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the server did not start")


# The run -----------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=os.environ.get(
        "FRONTDOOR_BENCH_DATABASE_URL", os.environ.get("FRONTDOOR_TEST_DATABASE_URL", DEFAULT_URL)),
        help="a PostgreSQL server (a database is created on it for the run and dropped)")
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--seller-cases", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=300, help="per page per round")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print, don't touch the docs")
    parser.add_argument("--serve", nargs=2, metavar=("URL", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return 0
    sizes = [int(s) for s in args.sizes.split(",")]
    admin_url = make_url(args.database_url)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    names = {size: f"fd_bench_portal_{uuid.uuid4().hex[:8]}" for size in sizes}
    processes: list[subprocess.Popen[bytes]] = []
    try:
        from storage.migrate import upgrade

        middle = f"CX-{args.seller_cases // 2:06d}"
        bases: dict[int, str] = {}
        buffers: dict[int, dict[str, tuple[int, int, float]]] = {}
        for size, name in names.items():  # one database and one server per table size
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            url = admin_url.set(database=name).render_as_string(hide_password=False)
            started = time.monotonic()
            upgrade(url)
            seed(url, args.seller_cases)
            grow(url, args.seller_cases, size)
            buffers[size] = page_buffers(url, middle)
            print(f"{size:>9} rows written in {time.monotonic() - started:.0f} s", flush=True)
            port = free_port()
            bases[size] = f"http://127.0.0.1:{port}"
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "bench.bench_portal", "--serve", url, str(port)]))
            wait_ready(bases[size], processes[-1])
        pages = {"/healthz (baseline)": "/healthz",
                 "My cases (in progress, first page)": "/portal/cases",
                 "My cases, search by order id": "/portal/cases?q=123-0000007",
                 "Case details": f"/portal/cases/{middle}"}
        started = time.monotonic()
        results = asyncio.run(run_all(bases, pages, args.requests, args.concurrency,
                                      args.rounds))
        print(f"measured in {time.monotonic() - started:.0f} s", flush=True)
        report = render(sorted(results, key=lambda r: r.size), args, sizes, buffers)
        print(report)
        if not args.no_write:
            write_section("portal", report)
        return 0
    finally:
        for process in processes:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        with admin.connect() as conn:
            for name in names.values():
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def render(results: list[Result], args: argparse.Namespace, sizes: list[int],
           buffers: dict[int, dict[str, tuple[int, int, float]]]) -> str:
    base = {r.size: r for r in results if r.page.startswith("/healthz")}
    lines = [
        "## Seller portal pages (issue 15)",
        "",
        f"`python -m bench.bench_portal` ({datetime.now(UTC):%Y-%m-%d}): {platform.machine()}, "
        f"{os.cpu_count()} CPUs, PostgreSQL; one database and one server (a uvicorn process on "
        f"127.0.0.1) per table size; the client keeps {args.concurrency} requests in flight; "
        f"{args.rounds} rounds of {args.requests} requests per page, the sizes and pages "
        "interleaved in each round; medians of the rounds' p50 and p99. "
        f"The measured seller has {args.seller_cases:,} cases (4 messages each, one reply "
        f"unread); the table's other rows belong to {SELLERS - 1} other sellers (one message "
        "each). The list shows 25 cases per page.",
        "",
        "| cases in the table | page | p50 ms | p99 ms | p50 over /healthz ms | round p50s |",
        "| ---: | --- | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        over = r.p50 - base[r.size].p50
        lines.append(f"| {r.size:,} | {r.page} | {r.p50:.2f} | {r.p99:.2f} | "
                     f"{'—' if r.page.startswith('/healthz') else f'{over:.2f}'} | "
                     f"{', '.join(f'{p:.2f}' for p in r.rounds_p50)} |")
    if len(sizes) >= 2:
        small, big = sizes[0], sizes[-1]
        lines += ["", f"Growth from {small:,} to {big:,} rows (page p50 minus /healthz p50, "
                      "same run):", ""]
        for page in [r.page for r in results if r.size == small and not r.page.startswith("/")]:
            a = next(r for r in results if r.size == small and r.page == page)
            b = next(r for r in results if r.size == big and r.page == page)
            da, db = a.p50 - base[small].p50, b.p50 - base[big].p50
            lines.append(f"- {page}: {da:.2f} ms -> {db:.2f} ms ({db / da:.2f}x)")
    lines += ["", "What each page's reads touch (EXPLAIN ANALYZE BUFFERS of the statements the "
              "page's calls send; shared buffers of 8 kB, hit or read; the statements' "
              "execution time in the database, summed):", "",
              "| page | " + " | ".join(f"{s:,} rows: statements, buffers, ms" for s in sizes)
              + " |",
              "| --- | " + " | ".join("---:" for _ in sizes) + " |"]
    for page in buffers[sizes[0]]:
        cells = [f"{buffers[s][page][0]}, {buffers[s][page][1]}, {buffers[s][page][2]:.2f}"
                 for s in sizes]
        lines.append(f"| {page} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
