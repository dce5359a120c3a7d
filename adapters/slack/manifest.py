"""The Slack app manifest for this deployment: what an operator pastes into "Create an app ->
From a manifest" to get an app with exactly the scopes, events and URLs this code uses.

The bot scopes follow from the Web API methods the app calls (``WEB_API_METHODS``, kept in
step with the code by a test that greps it) and from the events it listens to. Over HTTP,
Slack sends events, button presses and slash commands to one request URL, ``/slack/events``
under FRONTDOOR_PUBLIC_URL; in Socket Mode (an app token) no URL is needed.
"""

from __future__ import annotations

from typing import Any

import yaml

#: Where ``frontdoor serve`` takes Slack's events, interactivity and slash commands.
EVENTS_PATH = "/slack/events"

#: The bot scope each Web API method needs (None: no scope, e.g. it works with a trigger id).
METHOD_SCOPES: dict[str, str | None] = {
    "auth.test": None,
    "chat.postMessage": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.update": "chat:write",
    "chat.delete": "chat:write",
    "conversations.history": "channels:history",
    "conversations.replies": "channels:history",
    "conversations.members": "channels:read",
    "conversations.open": "im:write",
    "files.info": "files:read",
    "files.delete": "files:write",
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
    "reactions.add": "reactions:write",
    "users.info": "users:read",
    "users.getPresence": "users:read",
    "usergroups.users.list": "usergroups:read",
    "views.open": None,
}

#: The methods the app calls with the bot token (``files_upload_v2`` is the two
#: ``files.*External`` calls). Assignment reads SLACK_AGENTS_GROUP's members and their
#: presence; the rest is the sender, the agent desk and the sellers' DMs.
WEB_API_METHODS: tuple[str, ...] = (
    "auth.test", "chat.postMessage", "chat.postEphemeral", "chat.update", "chat.delete",
    "conversations.history", "conversations.replies", "conversations.members", "files.info",
    "files.delete", "files.getUploadURLExternal", "files.completeUploadExternal", "reactions.add",
    "users.info", "users.getPresence", "usergroups.users.list", "views.open",
)

#: Message events: public and private agents' channels, and sellers' DMs with the app.
BOT_EVENTS: tuple[str, ...] = ("message.channels", "message.groups", "message.im")

#: Scopes needed beyond the methods': reading the messages of those events (and the earlier
#: deliveries looked for in them), private channels' members, downloading shared files
#: (``url_private``), and the slash commands.
EXTRA_SCOPES: tuple[str, ...] = (
    "channels:history", "groups:history", "im:history", "groups:read", "files:read",
    "commands",
)

SLASH_COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("/case", "Show a case and act on it", "{prefix}-000012"),
    ("/cases", "List the open cases", ""),
)


class ManifestRefused(Exception):
    """No manifest can be made for these settings (the message says what is missing)."""


def bot_scopes(methods: tuple[str, ...] = WEB_API_METHODS) -> list[str]:
    """The bot scopes for ``methods`` plus the events', sorted."""
    unknown = [m for m in methods if m not in METHOD_SCOPES]
    if unknown:
        raise ValueError(f"no scope known for {', '.join(unknown)}")
    scopes = {METHOD_SCOPES[m] for m in methods} | set(EXTRA_SCOPES)
    return sorted(s for s in scopes if s)


def build_manifest(*, app_name: str, public_url: str | None, socket_mode: bool,
                   case_prefix: str = "CX") -> dict[str, Any]:
    """The manifest as a dict. Over HTTP ``public_url`` is required (https)."""
    request_url: str | None = None
    if not socket_mode:
        if not public_url:
            raise ManifestRefused("set FRONTDOOR_PUBLIC_URL (e.g. https://support.example.com) "
                                  "or SLACK_APP_TOKEN for Socket Mode")
        if not public_url.startswith("https://"):
            raise ManifestRefused("FRONTDOOR_PUBLIC_URL must start with https://: Slack only "
                                  "calls https request URLs")
        request_url = public_url.rstrip("/") + EVENTS_PATH
    commands = []
    for command, description, hint in SLASH_COMMANDS:
        entry: dict[str, Any] = {"command": command, "description": description,
                                 "should_escape": False}
        if hint:
            entry["usage_hint"] = hint.format(prefix=case_prefix)
        if request_url:
            entry["url"] = request_url
        commands.append(entry)
    events: dict[str, Any] = {"bot_events": list(BOT_EVENTS)}
    interactivity: dict[str, Any] = {"is_enabled": True}
    if request_url:
        events["request_url"] = request_url
        interactivity["request_url"] = request_url
    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": app_name[:35],
            "description": "Seller support: cases from chat, answered in threads",
        },
        "features": {
            # The Messages tab lets sellers write to the app in a DM.
            "app_home": {"home_tab_enabled": False, "messages_tab_enabled": True,
                         "messages_tab_read_only_enabled": False},
            "bot_user": {"display_name": app_name[:80], "always_online": True},
            "slash_commands": commands,
        },
        "oauth_config": {"scopes": {"bot": bot_scopes()}},
        "settings": {
            "event_subscriptions": events,
            "interactivity": interactivity,
            "org_deploy_enabled": False,
            "socket_mode_enabled": socket_mode,
            "token_rotation_enabled": False,
        },
    }


def manifest_yaml(manifest: dict[str, Any]) -> str:
    """YAML as Slack's manifest editor shows it (keys in the order given)."""
    return yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True)
