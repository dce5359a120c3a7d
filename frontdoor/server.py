"""`frontdoor serve`: one ASGI app with the platform endpoints, health and metrics, plus the
background work (outbox dispatcher, scheduler, Telegram polling) tied to its lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.dispatcher import OutboxDispatcher
from frontdoor.body_limit import DEFAULT_MAX_REQUEST_BYTES, BodySizeLimit, Explain
from frontdoor.wiring import Services

log = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Response]]


@dataclass
class Metrics:
    """Prometheus metrics of one process."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.inbound = Counter("frontdoor_inbound_total", "Inbound platform requests",
                               ["channel", "outcome"], registry=self.registry)
        self.outbox = Gauge("frontdoor_outbox_items", "Outbox items by status", ["status"],
                            registry=self.registry)
        self.delivered = Gauge("frontdoor_outbox_delivered", "Items delivered by this process",
                               registry=self.registry)
        self.dead = Gauge("frontdoor_outbox_dead_lettered",
                          "Items dead-lettered by this process", registry=self.registry)
        self.claims = Gauge("frontdoor_outbox_claims",
                            "Claim transactions run by this process's dispatcher, by whether "
                            "they found items due", ["found"], registry=self.registry)
        self.record_transactions = Gauge(
            "frontdoor_outbox_record_transactions",
            "Transactions this process's dispatcher recorded delivery results in",
            registry=self.registry)


@dataclass
class ServerParts:
    """What `create_app` serves. Missing parts (no Telegram, no Slack) are simply not routed."""

    services: Services
    dispatcher: OutboxDispatcher | None = None
    telegram_webhook: Handler | None = None
    slack_events: Handler | None = None
    nlu_ready: Callable[[], Awaitable[bool]] | None = None
    #: More /readyz checks by name: each answers "ok" or "error: <why>" (e.g. Slack Socket Mode).
    readiness: dict[str, Callable[[], Awaitable[str]]] = field(default_factory=dict)
    background: list[Callable[[asyncio.Event], Coroutine[Any, Any, None]]] = field(
        default_factory=list)
    on_start: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    on_stop: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    metrics: Metrics = field(default_factory=Metrics)
    #: Request bodies over this many bytes are answered 413 unread.
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. the engine, for tests
    #: What the handlers of ``routes`` find on ``app.state`` (e.g. ``portal_sessions``).
    state: dict[str, Any] = field(default_factory=dict)
    #: Larger body caps for some path prefixes (the portal's uploads): prefix -> bytes.
    body_limits: dict[str, int] = field(default_factory=dict)
    body_refusals: dict[str, Explain] = field(default_factory=dict)  # words per path prefix
    #: More routes (the seller portal's pages, the web chat), served as they are.
    routes: list[BaseRoute] = field(default_factory=list)


async def refused_request(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (no such route, a method not allowed, a form it cannot parse:
    malformed multipart, too many files or fields) answered as before, with a log line
    saying what was refused and why."""
    assert isinstance(exc, HTTPException)
    log.info("%s %s answered %d: %s", request.method, request.url.path[:200], exc.status_code,
             str(exc.detail)[:200])
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    return PlainTextResponse(f"{exc.detail}\n", status_code=exc.status_code, headers=exc.headers)


def create_app(parts: ServerParts) -> Starlette:
    """The ASGI application: /healthz, /readyz, /metrics, and the platform webhooks; bodies
    over ``parts.max_request_bytes`` are answered 413."""

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_request: Request) -> Response:
        checks: dict[str, str] = {}
        try:
            await asyncio.wait_for(asyncio.to_thread(parts.services.database.ping), timeout=5)
            checks["database"] = "ok"
        except Exception as exc:  # any failure means not ready; say which
            checks["database"] = f"error: {type(exc).__name__}"
        if parts.nlu_ready is not None:
            try:
                checks["nlu"] = "ok" if await parts.nlu_ready() else "error: not answering"
            except Exception as exc:
                checks["nlu"] = f"error: {type(exc).__name__}"
        for name, check in parts.readiness.items():
            try:
                checks[name] = await check()
            except Exception as exc:
                checks[name] = f"error: {type(exc).__name__}"
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    async def metrics(_request: Request) -> Response:
        m = parts.metrics
        try:
            counts = await asyncio.to_thread(parts.services.outbox_queue.counts)
            for status in ("pending", "sent", "dead", "withdrawn"):
                m.outbox.labels(status).set(counts.get(status, 0))
        except Exception:
            log.exception("outbox counts unavailable")
        if parts.dispatcher is not None:
            m.delivered.set(parts.dispatcher.delivered)
            m.dead.set(parts.dispatcher.dead)
            d = parts.dispatcher
            m.claims.labels("items").set(d.claims - d.empty_claims)
            m.claims.labels("nothing").set(d.empty_claims)
            m.record_transactions.set(d.record_transactions)
        return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)

    def counted(channel: str, handler: Handler) -> Handler:
        async def wrapped(request: Request) -> Response:
            response = await handler(request)
            parts.metrics.inbound.labels(channel, str(response.status_code)).inc()
            return response

        return wrapped

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    if parts.telegram_webhook is not None:
        routes.append(Route("/telegram/webhook", counted("telegram", parts.telegram_webhook),
                            methods=["POST"]))
    if parts.slack_events is not None:
        routes.append(Route("/slack/events", counted("slack", parts.slack_events),
                            methods=["POST"]))
    routes.extend(parts.routes)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        stop = asyncio.Event()
        try:
            for start in parts.on_start:
                await start()
        except BaseException:
            # A part that cannot start fails the startup (the server exits): release what
            # the earlier parts opened first.
            for finish in parts.on_stop:
                with contextlib.suppress(Exception):
                    await finish()
            raise
        tasks = []
        if parts.dispatcher is not None:
            tasks.append(asyncio.create_task(parts.dispatcher.run_forever(stop)))
        tasks.extend(asyncio.create_task(job(stop)) for job in parts.background)
        try:
            yield
        finally:
            stop.set()
            await asyncio.wait(tasks, timeout=10) if tasks else None
            for task in tasks:
                task.cancel()
            for finish in parts.on_stop:
                with contextlib.suppress(Exception):
                    await finish()

    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={HTTPException: refused_request}, middleware=[
        Middleware(BodySizeLimit, max_bytes=parts.max_request_bytes,
                   by_prefix=parts.body_limits, explain_by_prefix=parts.body_refusals)])
    for name, value in parts.state.items():
        setattr(app.state, name, value)
    return app


__all__ = ["Metrics", "ServerParts", "create_app"]
