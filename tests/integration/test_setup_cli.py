"""`frontdoor slack manifest` and `frontdoor telegram setup|status`: the manifest against the
code's own Slack calls, the Telegram setup through python-telegram-bot against the stand-in."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from adapters.slack.manifest import METHOD_SCOPES, WEB_API_METHODS
from frontdoor.cli import app
from tests.standins import Fault
from tests.standins.telegram_api import TelegramStandIn

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
#: Web API families: ``client.<family>_<method>(`` in the code is a Web API call (the
#: slack_sdk client is always named ``client`` here: ``self.client``, bolt's ``client``).
_FAMILIES = ("auth|chat|conversations|files|reactions|users|usergroups|views|team|bots|pins|dnd"
             "|apps|reminders|bookmarks|emoji|search|stars|admin|calls|dialog|migration|oauth"
             "|openid|rtm|workflows|canvases|functions")
_CALL = re.compile(rf"client\.({_FAMILIES})_([A-Za-z0-9_]+)\(")
_API_CALL = re.compile(r"api_call\(\s*[\"']([a-zA-Z.]+)[\"']")
#: slack_sdk helpers that are several Web API calls.
_COMPOSITE = {"files.upload.v2": ("files.getUploadURLExternal", "files.completeUploadExternal")}
_SETTINGS = ("FRONTDOOR_PUBLIC_URL", "SLACK_APP_TOKEN", "TELEGRAM_BOT_TOKEN",
             "TELEGRAM_API_BASE_URL", "TELEGRAM_WEBHOOK_URL", "TELEGRAM_WEBHOOK_SECRET",
             "TELEGRAM_MODE", "FRONTDOOR_BRAND", "FRONTDOOR_CASE_PREFIX")


@pytest.fixture(autouse=True)
def clean_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no `.env` of the checkout
    for name in _SETTINGS:
        monkeypatch.delenv(name, raising=False)


def web_api_methods_called() -> set[str]:
    """Every Slack Web API method the app's code calls, found by reading it."""
    found: set[str] = set()
    for path in [*ROOT.glob("adapters/**/*.py"), *ROOT.glob("frontdoor/**/*.py")]:
        source = path.read_text()
        for family, rest in _CALL.findall(source):
            # chat_postMessage -> chat.postMessage, usergroups_users_list -> usergroups.users.list
            method = f"{family}.{rest.replace('_', '.')}"
            found.update(_COMPOSITE.get(method, (method,)))
        found.update(_API_CALL.findall(source))
    return found


def manifest(*args: str) -> dict[str, object]:
    result = runner.invoke(app, ["slack", "manifest", *args])
    assert result.exit_code == 0, result.output
    loaded = yaml.safe_load(result.output)
    assert isinstance(loaded, dict)
    return loaded


def test_the_manifest_has_slacks_shape_and_this_deployments_urls(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDOOR_PUBLIC_URL", "https://support.example.com/")
    monkeypatch.setenv("FRONTDOOR_BRAND", "Nimbus")
    monkeypatch.setenv("FRONTDOOR_CASE_PREFIX", "NB")
    data = manifest()
    assert {"display_information", "features", "oauth_config", "settings"} <= set(data)
    assert data["display_information"]["name"] == "Nimbus Support"  # type: ignore[index]
    features, settings = data["features"], data["settings"]
    url = "https://support.example.com/slack/events"
    assert settings["event_subscriptions"]["request_url"] == url  # type: ignore[index]
    assert settings["interactivity"] == {"is_enabled": True, "request_url": url}  # type: ignore[index]
    assert settings["socket_mode_enabled"] is False  # type: ignore[index]
    commands = {c["command"]: c for c in features["slash_commands"]}  # type: ignore[index]
    assert set(commands) == {"/case", "/cases"}
    assert all(c["url"] == url for c in commands.values())
    assert commands["/case"]["usage_hint"] == "NB-000012"
    # Sellers write to the app in a DM: the Messages tab must take messages.
    assert features["app_home"]["messages_tab_enabled"] is True  # type: ignore[index]
    assert features["app_home"]["messages_tab_read_only_enabled"] is False  # type: ignore[index]
    assert set(settings["event_subscriptions"]["bot_events"]) == {  # type: ignore[index]
        "message.channels", "message.groups", "message.im"}


def test_the_scopes_cover_every_web_api_method_the_code_calls(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDOOR_PUBLIC_URL", "https://support.example.com")
    scopes = set(manifest()["oauth_config"]["scopes"]["bot"])  # type: ignore[index]
    called = web_api_methods_called()
    # The grep finds the calls this code is known to make (it can't silently find nothing).
    assert {"chat.postMessage", "chat.update", "reactions.add", "conversations.replies",
            "files.getUploadURLExternal", "views.open", "files.info"} <= called
    missing = sorted(called - set(WEB_API_METHODS))
    assert not missing, f"add these Web API methods to the manifest: {missing}"
    for method in called:
        needed = METHOD_SCOPES[method]
        assert needed is None or needed in scopes, (method, needed)
    # Reading events' messages and earlier deliveries, downloading files, slash commands.
    assert {"channels:history", "groups:history", "im:history", "files:read", "files:write",
            "commands", "chat:write"} <= scopes


def test_the_slash_commands_and_events_are_the_ones_the_bolt_app_listens_to(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDOOR_PUBLIC_URL", "https://support.example.com")
    data = manifest()
    source = (ROOT / "adapters/slack/bolt_app.py").read_text()
    listened = set(re.findall(r"app\.command\(\"(/[a-z_-]+)\"\)", source))
    assert listened, "no slash command found in the bolt app"
    offered = {c["command"] for c in data["features"]["slash_commands"]}  # type: ignore[index]
    assert listened <= offered
    assert 'app.event("message")' in source


def test_socket_mode_needs_no_url_and_http_needs_an_https_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    refused = runner.invoke(app, ["slack", "manifest"])
    assert refused.exit_code == 2 and "FRONTDOOR_PUBLIC_URL" in refused.output
    monkeypatch.setenv("FRONTDOOR_PUBLIC_URL", "http://support.example.com")
    plain_http = runner.invoke(app, ["slack", "manifest"])
    assert plain_http.exit_code == 2 and "https" in plain_http.output

    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-test")
    data = manifest()
    settings = data["settings"]
    assert settings["socket_mode_enabled"] is True  # type: ignore[index]
    assert "request_url" not in settings["event_subscriptions"]  # type: ignore[index]
    assert "request_url" not in settings["interactivity"]  # type: ignore[index]
    assert all("url" not in c for c in data["features"]["slash_commands"])  # type: ignore[index]
    as_json = runner.invoke(app, ["slack", "manifest", "--json"])
    assert json.loads(as_json.output)["settings"]["socket_mode_enabled"] is True


# telegram ------------------------------------------------------------------------------------
@pytest.fixture
def telegram(monkeypatch: pytest.MonkeyPatch) -> Iterator[TelegramStandIn]:
    with TelegramStandIn().running_in_thread() as standin:
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "4242:SECRET-TOKEN")
        monkeypatch.setenv("TELEGRAM_API_BASE_URL", standin.base_url)
        yield standin


def test_telegram_setup_registers_webhook_secret_menu_and_description(
        telegram: TelegramStandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDOOR_PUBLIC_URL", "https://support.example.com")
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "s3cret-value")
    monkeypatch.setenv("FRONTDOOR_BRAND", "Nimbus")
    result = runner.invoke(app, ["telegram", "setup"])
    assert result.exit_code == 0, result.output
    assert telegram.webhook is not None
    assert telegram.webhook["url"] == "https://support.example.com/telegram/webhook"
    assert telegram.webhook["secret_token"] == "s3cret-value"
    assert set(telegram.webhook["allowed_updates"]) >= {"message", "callback_query",
                                                        "my_chat_member"}
    names = [c["command"] for c in telegram.commands]
    assert names == ["help", "new", "cases", "case", "link", "invite", "language", "cancel"]
    assert all(3 <= len(c["description"]) <= 256 for c in telegram.commands)
    assert telegram.description and "Nimbus" in telegram.description
    assert telegram.short_description and "Nimbus" in telegram.short_description
    assert "/help /new /cases /case /link /invite /language /cancel" in result.output
    # Sellers whose app is in Chinese get the menu and the profile in Chinese.
    chinese = telegram.localized["zh"]
    assert [c["command"] for c in chinese["commands"]] == names
    assert chinese["commands"][0]["description"] == "我能为您做什么"
    assert "Nimbus 卖家支持" in chinese["description"]
    assert "Nimbus 卖家支持" in chinese["short_description"]
    assert "the same for app languages: zh" in result.output
    assert "SECRET-TOKEN" not in result.output and "s3cret-value" not in result.output


def test_telegram_menu_offers_email_where_mail_is_sent(
        telegram: TelegramStandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_MODE", "polling")
    monkeypatch.setenv("FRONTDOOR_PUBLIC_URL", "https://support.example.com")
    monkeypatch.setenv("FRONTDOOR_SMTP_URL", "smtp://127.0.0.1:2525")
    result = runner.invoke(app, ["telegram", "setup"])
    assert result.exit_code == 0, result.output
    names = [c["command"] for c in telegram.commands]
    assert names == ["help", "new", "cases", "case", "link", "invite", "email", "language",
                     "cancel"]
    email = next(c for c in telegram.commands if c["command"] == "email")
    assert "/email you@example.com" in email["description"]


def test_telegram_menu_offers_web_with_the_portal_on(
        telegram: TelegramStandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_MODE", "polling")
    monkeypatch.setenv("FRONTDOOR_PUBLIC_URL", "https://support.example.com")
    monkeypatch.setenv("FRONTDOOR_PORTAL", "true")
    result = runner.invoke(app, ["telegram", "setup"])
    assert result.exit_code == 0, result.output
    names = [c["command"] for c in telegram.commands]
    assert names == ["help", "new", "cases", "case", "link", "invite", "web", "language",
                     "cancel"]
    chinese = telegram.localized["zh"]["commands"]
    assert next(c for c in chinese if c["command"] == "web")["description"] == "在浏览器中查看您的工单"


def test_telegram_setup_refuses_a_webhook_without_secret_and_polling_skips_it(
        telegram: TelegramStandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDOOR_PUBLIC_URL", "https://support.example.com")
    refused = runner.invoke(app, ["telegram", "setup"])
    assert refused.exit_code == 2 and "TELEGRAM_WEBHOOK_SECRET" in refused.output
    assert telegram.calls("setWebhook") == [] and telegram.webhook is None

    monkeypatch.setenv("TELEGRAM_MODE", "polling")
    polling = runner.invoke(app, ["telegram", "setup"])
    assert polling.exit_code == 0, polling.output
    assert telegram.webhook is None and "polling" in polling.output
    assert [c["command"] for c in telegram.commands][:1] == ["help"]


def test_telegram_setup_reports_a_refusal_without_the_token(
        telegram: TelegramStandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_MODE", "polling")
    telegram.fail_next("setMyCommands", Fault(400, {
        "ok": False, "error_code": 400, "description": "Bad Request: BOT_COMMAND_INVALID"}))
    result = runner.invoke(app, ["telegram", "setup"])
    assert result.exit_code == 1
    assert "bot_command_invalid" in result.output.lower()
    assert "SECRET-TOKEN" not in result.output


def test_telegram_status_shows_url_pending_updates_and_last_error(
        telegram: TelegramStandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_WEBHOOK_URL", "https://support.example.com/telegram/webhook")
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "s3cret-value")
    assert runner.invoke(app, ["telegram", "setup"]).exit_code == 0
    for n in range(3):
        telegram.push_update({"update_id": 900 + n})
    failed_at = int(time.time()) - 60
    telegram.webhook_last_error = (failed_at, "Wrong response from the webhook: 503")
    result = runner.invoke(app, ["telegram", "status"])
    assert result.exit_code == 0, result.output
    assert "webhook: https://support.example.com/telegram/webhook" in result.output
    assert "pending updates: 3" in result.output
    assert "Wrong response from the webhook: 503" in result.output
    assert "warning" not in result.output
    data = json.loads(runner.invoke(app, ["telegram", "status", "--json"]).output)
    assert data["pending_update_count"] == 3
    assert data["last_error_message"] == "Wrong response from the webhook: 503"
    assert data["url"] == data["expected_url"]
    assert len(telegram.calls("getWebhookInfo")) == 2

    # A webhook that is not this deployment's is pointed out.
    monkeypatch.setenv("TELEGRAM_WEBHOOK_URL", "https://new-host.example.com/telegram/webhook")
    moved = runner.invoke(app, ["telegram", "status"])
    assert "warning: this deployment expects https://new-host.example.com" in moved.output
