"""`frontdoor serve`: the HTTP server with everything the settings enable."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import typer

from frontdoor.settings import Settings, SettingsError, load_settings
from frontdoor.shutdown import StopRequest, run_until_stopped

if TYPE_CHECKING:
    import uvicorn


def serve(
    host: str | None = typer.Option(None, help="Listen address (default FRONTDOOR_HOST)."),
    port: int | None = typer.Option(None, min=0, max=65535,
                                    help="Port (default FRONTDOOR_PORT; 0: any free one)."),
    migrate: bool = typer.Option(True, help="Apply database migrations first."),
) -> None:
    """Run the server: Telegram webhook (or polling), Slack events (or Socket Mode), /healthz,
    /readyz, /metrics, the outbox dispatcher and the scheduler. Starts a local Rasa server
    when FRONTDOOR_NLU_URL is unset, and stops it on exit (SIGTERM and SIGINT included)."""
    settings = load_settings()
    if not (settings.telegram.bot_token or settings.slack.bot_token):
        typer.echo("error: set TELEGRAM_BOT_TOKEN and/or SLACK_BOT_TOKEN to serve a platform "
                   "(or use `frontdoor chat`)", err=True)
        raise typer.Exit(2)
    if settings.telegram.bot_token and settings.telegram.mode == "webhook" \
            and not settings.telegram.webhook_secret:
        typer.echo("error: TELEGRAM_WEBHOOK_SECRET is required in webhook mode "
                   "(or set TELEGRAM_MODE=polling)", err=True)
        raise typer.Exit(2)
    if settings.slack.bot_token and not (settings.slack.signing_secret or settings.slack.app_token):
        typer.echo("error: set SLACK_SIGNING_SECRET (HTTP mode) or SLACK_APP_TOKEN (Socket Mode)",
                   err=True)
        raise typer.Exit(2)
    from frontdoor.wiring import PortalMisconfigured, check_portal_settings

    try:
        check_portal_settings(settings)
    except PortalMisconfigured as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    from frontdoor.portal_channels import check_email_settings

    try:
        check_email_settings(settings)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    _check_what_starts_later(settings)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if migrate:
        from storage.migrate import upgrade

        upgrade(settings.frontdoor_database_url)
    # --port 0 asks the OS for a free port (uvicorn logs the one it got).
    listen_port = settings.frontdoor_port if port is None else port
    from nlu.environment import RasaEnvironmentError
    from nlu.server import RasaServerError
    from nlu.training import TrainingError

    try:
        run_until_stopped(lambda stop: _serve(host or settings.frontdoor_host, listen_port, stop))
    except (RasaEnvironmentError, TrainingError, RasaServerError) as exc:
        # The local NLU could not start (a busy port, say): a reason, not a traceback.
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


def _check_what_starts_later(settings: Settings) -> None:
    """Build now what the server builds once it runs (the scheduler's config, the knowledge
    base), so a bad value stops `serve` with its variable's name (exit 2) before it migrates or
    starts Rasa, not as a traceback from inside uvicorn's start-up."""
    from frontdoor.scheduling import scheduler_config
    from frontdoor.wiring import load_knowledge_base

    try:
        scheduler_config(settings)
    except ValueError as exc:  # what the settings' own checks let through
        raise SettingsError([f"scheduler settings: {exc}"]) from None
    load_knowledge_base(settings)  # SettingsError: FRONTDOOR_KNOWLEDGE_BASE and why


def _uvicorn_server(app: Any, host: str, port: int) -> uvicorn.Server:
    import uvicorn  # here: the other commands need not load it

    class Server(uvicorn.Server):
        """uvicorn without signal handlers of its own: run_until_stopped owns SIGTERM and
        SIGINT and asks it to shut down. uvicorn's handlers re-raise the signal once its
        shutdown is done, and that ended the process before the Rasa server was stopped."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return Server(uvicorn.Config(app, host=host, port=port, log_level="info"))


def install_worker_threads(loop: asyncio.AbstractEventLoop, threads: int,
                           urgent_first: bool) -> None:
    """Give ``loop`` its executor for blocking work: ``threads`` workers (0: Python's default
    count) that take deliveries and agents' work first (bot.urgent_work), or, without
    ``urgent_first``, asyncio's own first-come-first-served pool."""
    from bot.urgent_work import UrgentFirstExecutor

    workers = threads or min(32, (os.cpu_count() or 1) + 4)
    if urgent_first:
        loop.set_default_executor(UrgentFirstExecutor(workers))
    elif threads:
        loop.set_default_executor(ThreadPoolExecutor(max_workers=workers))


async def _serve(host: str, port: int, stop: StopRequest) -> None:
    from frontdoor.serve_app import build_server
    from frontdoor.server import create_app
    from frontdoor.wiring import build_services
    from nlu.client import RasaClassifier
    from nlu.server import anlu_service

    settings = load_settings()
    install_worker_threads(asyncio.get_running_loop(), settings.frontdoor_worker_threads,
                           urgent_first=settings.frontdoor_urgent_work_first)
    services = build_services(settings)
    async with anlu_service(settings.frontdoor_nlu_url, settings.frontdoor_cache_dir,
                            settings.frontdoor_nlu_port, out=sys.stderr) as nlu_url:
        classifier = RasaClassifier(nlu_url, timeout=settings.frontdoor_nlu_timeout,
                                    case_prefix=settings.frontdoor_case_prefix)
        try:
            parts = build_server(services, classifier, nlu_ready=classifier.ready)
            server = _uvicorn_server(create_app(parts), host, port)

            def shut_down() -> None:
                server.should_exit = True

            def stop_waiting() -> None:  # for open connections and background work
                server.force_exit = True

            with stop.handled_by(shut_down, stop_waiting):
                await server.serve()
        finally:
            await classifier.aclose()
