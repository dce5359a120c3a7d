"""`frontdoor serve`: the HTTP server with everything the settings enable."""

from __future__ import annotations

import asyncio
import logging
import sys

import typer

from frontdoor.settings import load_settings


def serve(
    host: str | None = typer.Option(None, help="Listen address (default FRONTDOOR_HOST)."),
    port: int | None = typer.Option(None, help="Port (default FRONTDOOR_PORT)."),
    migrate: bool = typer.Option(True, help="Apply database migrations first."),
) -> None:
    """Run the server: Telegram webhook (or polling), Slack events (or Socket Mode), /healthz,
    /readyz, /metrics, the outbox dispatcher and the scheduler. Starts a local Rasa server
    when FRONTDOOR_NLU_URL is unset, and stops it on exit."""
    settings = load_settings()
    if not (settings.telegram_bot_token or settings.slack_bot_token):
        typer.echo("error: set TELEGRAM_BOT_TOKEN and/or SLACK_BOT_TOKEN to serve a platform "
                   "(or use `frontdoor chat`)", err=True)
        raise typer.Exit(2)
    if settings.telegram_bot_token and settings.telegram_mode == "webhook" \
            and not settings.telegram_webhook_secret:
        typer.echo("error: TELEGRAM_WEBHOOK_SECRET is required in webhook mode "
                   "(or set TELEGRAM_MODE=polling)", err=True)
        raise typer.Exit(2)
    if settings.slack_bot_token and not (settings.slack_signing_secret or settings.slack_app_token):
        typer.echo("error: set SLACK_SIGNING_SECRET (HTTP mode) or SLACK_APP_TOKEN (Socket Mode)",
                   err=True)
        raise typer.Exit(2)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if migrate:
        from storage.migrate import upgrade

        upgrade(settings.frontdoor_database_url)
    # --port 0 asks the OS for a free port (uvicorn logs the one it got).
    asyncio.run(_serve(host or settings.frontdoor_host,
                       settings.frontdoor_port if port is None else port))


async def _serve(host: str, port: int) -> None:
    import uvicorn

    from frontdoor.serve_app import build_server
    from frontdoor.server import create_app
    from frontdoor.wiring import build_services
    from nlu.client import RasaClassifier
    from nlu.server import anlu_service

    settings = load_settings()
    services = build_services(settings)
    async with anlu_service(settings.frontdoor_nlu_url, settings.frontdoor_cache_dir,
                            settings.frontdoor_nlu_port, out=sys.stderr) as nlu_url:
        classifier = RasaClassifier(nlu_url, timeout=settings.frontdoor_nlu_timeout,
                                    case_prefix=settings.frontdoor_case_prefix)
        try:
            parts = build_server(services, classifier, nlu_ready=classifier.ready)
            config = uvicorn.Config(create_app(parts), host=host, port=port, log_level="info")
            await uvicorn.Server(config).serve()
        finally:
            await classifier.aclose()
