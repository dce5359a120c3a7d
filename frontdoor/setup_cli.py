"""`frontdoor slack manifest` and `frontdoor telegram setup|status`: setting the platforms up
for this deployment from its settings, in minutes."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import typer

from bot import i18n
from bot.texts import t
from frontdoor.settings import Settings, load_settings

slack_app = typer.Typer(help="Setting up the Slack app.", no_args_is_help=True)
telegram_app = typer.Typer(help="Setting up the Telegram bot.", no_args_is_help=True)

#: Where ``frontdoor serve`` takes Telegram's updates.
TELEGRAM_WEBHOOK_PATH = "/telegram/webhook"
#: The sellers' command menu on Telegram, in this order (``/start`` is Telegram's own button).
MENU_COMMANDS = ("help", "new", "cases", "case", "link", "invite", "language", "cancel")
#: Offered after /invite when this deployment sends mail (FRONTDOOR_SMTP_URL set).
EMAIL_COMMAND = "email"
#: Offered last but one when the seller portal is on (FRONTDOOR_PORTAL).
WEB_COMMAND = "web"


def menu_commands(settings: Settings) -> tuple[str, ...]:
    """The menu's commands; /email only where mail can be sent and /web only with the portal
    on (else each would only say it cannot)."""
    commands: tuple[str, ...] = MENU_COMMANDS
    if settings.frontdoor_smtp_url:
        at = commands.index("invite") + 1
        commands = (*commands[:at], EMAIL_COMMAND, *commands[at:])
    if settings.frontdoor_portal:
        at = commands.index("language")
        commands = (*commands[:at], WEB_COMMAND, *commands[at:])
    return commands


def _refuse(reason: str) -> typer.Exit:
    typer.echo(f"error: {reason}", err=True)
    return typer.Exit(2)


# slack ---------------------------------------------------------------------------------------
@slack_app.command("manifest")
def slack_manifest(
    socket_mode: bool | None = typer.Option(
        None, "--socket-mode/--http",
        help="Socket Mode or HTTP request URLs (default: Socket Mode when SLACK_APP_TOKEN "
             "is set)."),
    as_json: bool = typer.Option(False, "--json", help="JSON instead of YAML."),
) -> None:
    """Print the Slack app manifest for this deployment: paste it into "Create New App ->
    From a manifest" at api.slack.com/apps."""
    from adapters.slack.manifest import ManifestRefused, build_manifest, manifest_yaml

    settings = load_settings()
    use_socket = bool(settings.slack.app_token) if socket_mode is None else socket_mode
    try:
        manifest = build_manifest(app_name=f"{settings.frontdoor_brand} Support",
                                  public_url=settings.frontdoor_public_url,
                                  socket_mode=use_socket,
                                  case_prefix=settings.frontdoor_case_prefix)
    except ManifestRefused as exc:
        raise _refuse(str(exc)) from None
    typer.echo(json.dumps(manifest, indent=2) if as_json else manifest_yaml(manifest), nl=False)
    if as_json:
        typer.echo()


# telegram ------------------------------------------------------------------------------------
def _token(settings: Settings) -> str:
    if not settings.telegram.bot_token:
        raise _refuse("set TELEGRAM_BOT_TOKEN")
    return settings.telegram.bot_token


def webhook_url_for(settings: Settings) -> str | None:
    """TELEGRAM_WEBHOOK_URL, else ``/telegram/webhook`` under FRONTDOOR_PUBLIC_URL."""
    if settings.telegram.webhook_url:
        return settings.telegram.webhook_url
    if settings.frontdoor_public_url:
        return settings.frontdoor_public_url.rstrip("/") + TELEGRAM_WEBHOOK_PATH
    return None


@telegram_app.command("setup")
def telegram_setup() -> None:
    """Register the webhook (with TELEGRAM_WEBHOOK_SECRET), the sellers' command menu and
    the bot's description with Telegram."""
    from adapters.telegram.setup import BotProfile, TelegramSetupFailed, set_up_bot

    settings = load_settings()
    token = _token(settings)
    url: str | None = None
    if settings.telegram.mode != "polling":
        url = webhook_url_for(settings)
        if not url:
            raise _refuse("set FRONTDOOR_PUBLIC_URL (or TELEGRAM_WEBHOOK_URL) for the webhook, "
                          "or TELEGRAM_MODE=polling")
        if not url.startswith("https://"):
            raise _refuse(f"Telegram only calls https webhooks, not {url}")
        if not settings.telegram.webhook_secret:
            raise _refuse("set TELEGRAM_WEBHOOK_SECRET: the webhook checks it on every update")
    brand, prefix = settings.frontdoor_brand, settings.frontdoor_case_prefix

    def profile_texts() -> BotProfile:
        return BotProfile(
            commands=[(name, t(f"menu.{name}", prefix=prefix))
                      for name in menu_commands(settings)],
            description=t("bot.description", brand=brand),
            short_description=t("bot.short_description", brand=brand))

    # Sellers whose Telegram app is in a shipped language see the menu in it.
    translated: dict[str, BotProfile] = {}
    for language in i18n.LANGUAGES:
        if language != i18n.SOURCE_LANGUAGE:
            with i18n.speaking(i18n.speaker(language)):
                translated[language.split("_")[0]] = profile_texts()
    profile = replace(profile_texts(), translations=translated)
    try:
        done = asyncio.run(set_up_bot(token, settings.telegram.api_base_url, webhook_url=url,
                                      webhook_secret=settings.telegram.webhook_secret,
                                      profile=profile))
    except TelegramSetupFailed as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    if url is None:
        typer.echo("polling mode: no webhook registered (`frontdoor serve` polls)")
    for step in done:
        typer.echo(step)


@telegram_app.command("status")
def telegram_status(as_json: bool = typer.Option(False, "--json")) -> None:
    """What Telegram has for the webhook: its URL, the updates waiting, the last error."""
    from adapters.telegram.setup import TelegramSetupFailed, webhook_status

    settings = load_settings()
    try:
        status = asyncio.run(webhook_status(_token(settings), settings.telegram.api_base_url))
    except TelegramSetupFailed as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    last_error = (f"{status.last_error_date.isoformat()} {status.last_error_message}"
                  if status.last_error_date else None)
    if as_json:
        typer.echo(json.dumps({
            "url": status.url, "pending_update_count": status.pending_update_count,
            "last_error_date": status.last_error_date.isoformat()
            if status.last_error_date else None,
            "last_error_message": status.last_error_message,
            "allowed_updates": list(status.allowed_updates),
            "expected_url": webhook_url_for(settings)}, indent=2))
        return
    typer.echo(f"webhook: {status.url or 'none (updates are fetched by polling, or not at all)'}")
    expected = webhook_url_for(settings)
    if settings.telegram.mode != "polling" and expected and status.url != expected:
        typer.echo(f"warning: this deployment expects {expected}: run `frontdoor telegram setup`")
    typer.echo(f"pending updates: {status.pending_update_count}")
    typer.echo(f"last error: {last_error or 'none'}")
    if status.allowed_updates:
        typer.echo(f"update types: {', '.join(status.allowed_updates)}")
