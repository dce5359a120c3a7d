"""The stand-in Slack Web API server: its routes, the chat/reactions/conversations/users
methods, and the test controls of the workspace it plays.

Point the real slack_sdk client at it with
``AsyncWebClient(token="xoxb-test", base_url=standin.base_url)`` (the trailing slash matters: the
SDK joins method names onto it with ``urljoin``). chat.* calls arrive as JSON, the others as form
fields or query strings; all are recorded as ``params``. ``conversations.history`` and
``conversations.replies`` read the channels back (:mod:`tests.standins.slack_history`), with the
``metadata`` a message was posted with when ``include_all_metadata`` is asked for. File
transfers (:mod:`tests.standins.slack_files`) and Socket Mode
(:mod:`tests.standins.slack_socket_mode`) are parts of the same server, mixed in.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from tests.standins import HandlerResult
from tests.standins.slack_files import SlackFileTransfers
from tests.standins.slack_history import history_handler, replies_handler
from tests.standins.slack_ids import BOT_ID, BOT_USER_ID, TEAM_ID
from tests.standins.slack_people import presence_handler, usergroup_users_handler
from tests.standins.slack_socket_mode import SOCKET_MODE_PATH, SlackSocketMode


class SlackStandIn(SlackFileTransfers, SlackSocketMode):
    """Stand-in Web API. ``base_url`` goes to ``AsyncWebClient(base_url=...)``."""

    json_form_fields = frozenset({"blocks", "attachments", "metadata", "view", "files"})

    def __init__(self, latency: float = 0.0) -> None:
        super().__init__(latency)
        self.users: dict[str, dict[str, Any]] = {}
        self.channel_members: dict[str, list[str]] = {}
        #: ``usergroups.users.list`` by group id, and ``users.getPresence`` (default active).
        self.usergroups: dict[str, list[str]] = {}
        self.presence: dict[str, str] = {}
        self._handlers: dict[str, Callable[[dict[str, Any]], HandlerResult]] = {
            "api.test": lambda params: (200, {"ok": True, "args": params}),
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.update": self._update,
            "chat.delete": self._delete,
            "reactions.add": self._add_reaction,
            "conversations.members": self._members,
            "conversations.open": self._open,
            "conversations.history": history_handler(self.messages),
            "conversations.replies": replies_handler(self.messages),
            "users.info": self._user_info,
            "usergroups.users.list": usergroup_users_handler(self.usergroups),
            "users.getPresence": presence_handler(self.presence),
            "files.info": self._file_info,
            "files.delete": self._delete_file,
            "views.open": self._open_view,
            "files.getUploadURLExternal": self._get_upload_url,
            "files.completeUploadExternal": self._complete_upload,
        }

    @property
    def base_url(self) -> str:
        """For ``AsyncWebClient(base_url=...)`` and SLACK_API_BASE_URL."""
        return f"{self.origin}/api/"

    def response_url(self, name: str = "1") -> str:
        """A ``response_url`` to put in interaction payloads; posts to it are recorded as
        method ``response_url``."""
        return f"{self.origin}/response_url/{name}"

    # Test controls -----------------------------------------------------------------------
    def add_user(self, user_id: str, name: str, real_name: str | None = None,
                 is_bot: bool = False) -> None:
        """Make ``users.info`` know a user."""
        real = real_name or name.title()
        self.users[user_id] = {
            "id": user_id, "team_id": TEAM_ID, "name": name, "real_name": real,
            "is_bot": is_bot, "deleted": False,
            "profile": {"real_name": real, "display_name": name},
        }

    def set_members(self, channel: str, members: list[str]) -> None:
        """What ``conversations.members`` answers for ``channel``."""
        self.channel_members[channel] = list(members)

    def seed_message(self, channel: str, text: str) -> str:
        """Put a bot message in ``channel`` without a request (e.g. a case parent to thread
        under); returns its ts."""
        _, body = self._post_message({"channel": channel, "text": text})
        return str(body["ts"])

    # Plumbing ----------------------------------------------------------------------------
    def _routes(self) -> list[tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]]]]:
        return [
            ("*", "/api/{method}", self._on_api),
            ("POST", "/response_url/{name}", self._on_response_url),
            ("POST", "/upload/{file_id}", self._on_upload),
            ("GET", SOCKET_MODE_PATH, self._on_socket),
            ("GET", "/files-pri/{file_id}/{name}", self._on_private_file),
        ]

    async def _on_api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        authorized = request.headers.get("Authorization", "").startswith("Bearer ")

        async def answer(name: str, params: dict[str, Any]) -> HandlerResult:
            if not authorized and name != "api.test":
                return 200, {"ok": False, "error": "not_authed"}
            if name == "apps.connections.open":
                return self._open_connection(request.headers.get("Authorization", ""))
            handler = self._handlers.get(name)
            if handler is None:
                return 200, {"ok": False, "error": "unknown_method"}
            return handler(params)

        return await self._handle(request, method, answer)

    async def _on_response_url(self, request: web.Request) -> web.StreamResponse:
        async def answer(name: str, params: dict[str, Any]) -> HandlerResult:
            return 200, {"ok": True}

        return await self._handle(request, "response_url", answer)

    def _open_view(self, params: dict[str, Any]) -> HandlerResult:
        view = params.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        if not params.get("trigger_id") or not isinstance(view, dict):
            return 200, {"ok": False, "error": "invalid_arguments"}
        return 200, {"ok": True, "view": {**view, "id": f"V{next(self._ts_counter):08d}"}}

    # Methods -----------------------------------------------------------------------------
    def _auth_test(self, params: dict[str, Any]) -> HandlerResult:
        return 200, {"ok": True, "url": "https://standin.slack.com/", "team": "Stand-in",
                     "user": "frontdoor", "team_id": TEAM_ID, "user_id": BOT_USER_ID,
                     "bot_id": BOT_ID, "is_enterprise_install": False}

    def _post_message(self, params: dict[str, Any]) -> HandlerResult:
        channel = str(params.get("channel") or "")
        if not channel:
            return 200, {"ok": False, "error": "channel_not_found"}
        if not params.get("text") and not params.get("blocks"):
            return 200, {"ok": False, "error": "no_text"}
        if channel.startswith(("U", "W")):
            channel = self._dm_channel(channel)
        message: dict[str, Any] = {
            "type": "message", "ts": self._next_ts(), "user": BOT_USER_ID, "bot_id": BOT_ID,
            "text": params.get("text", ""), "team": TEAM_ID,
        }
        if params.get("blocks"):
            message["blocks"] = params["blocks"]
        if params.get("thread_ts"):
            message["thread_ts"] = str(params["thread_ts"])
        if isinstance(params.get("metadata"), dict):  # read back by conversations.*
            message["metadata"] = params["metadata"]
        self.messages.setdefault(channel, []).append(message)
        return 200, {"ok": True, "channel": channel, "ts": message["ts"], "message": message}

    def _post_ephemeral(self, params: dict[str, Any]) -> HandlerResult:
        if not params.get("channel") or not params.get("user"):
            return 200, {"ok": False, "error": "channel_not_found"}
        return 200, {"ok": True, "message_ts": self._next_ts()}

    def _update(self, params: dict[str, Any]) -> HandlerResult:
        channel, ts = str(params.get("channel") or ""), str(params.get("ts") or "")
        message = self.find(channel, ts)
        if message is None:
            return 200, {"ok": False, "error": "message_not_found"}
        message["text"] = params.get("text", message["text"])
        if "blocks" in params:
            message["blocks"] = params["blocks"]
        message["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
        return 200, {"ok": True, "channel": channel, "ts": ts, "text": message["text"],
                     "message": message}

    def _delete(self, params: dict[str, Any]) -> HandlerResult:
        channel, ts = str(params.get("channel") or ""), str(params.get("ts") or "")
        message = self.find(channel, ts)
        if message is None:
            return 200, {"ok": False, "error": "message_not_found"}
        self.messages[channel].remove(message)
        return 200, {"ok": True, "channel": channel, "ts": ts}

    def _add_reaction(self, params: dict[str, Any]) -> HandlerResult:
        channel = str(params.get("channel") or "")
        message = self.find(channel, str(params.get("timestamp") or ""))
        if message is None:
            return 200, {"ok": False, "error": "message_not_found"}
        name = str(params.get("name") or "")
        reactions: dict[str, list[str]] = message.setdefault("reactions", {})
        if BOT_USER_ID in reactions.get(name, []):
            return 200, {"ok": False, "error": "already_reacted"}
        reactions.setdefault(name, []).append(BOT_USER_ID)
        return 200, {"ok": True}

    def _members(self, params: dict[str, Any]) -> HandlerResult:
        channel = str(params.get("channel") or "")
        if channel not in self.channel_members:
            return 200, {"ok": False, "error": "channel_not_found"}
        return 200, {"ok": True, "members": self.channel_members[channel],
                     "response_metadata": {"next_cursor": ""}}

    def _open(self, params: dict[str, Any]) -> HandlerResult:
        users = str(params.get("users") or "")
        if not users:
            return 200, {"ok": False, "error": "users_list_not_supplied"}
        return 200, {"ok": True, "channel": {"id": self._dm_channel(users)}}

    def _user_info(self, params: dict[str, Any]) -> HandlerResult:
        user = self.users.get(str(params.get("user") or ""))
        if user is None:
            return 200, {"ok": False, "error": "user_not_found"}
        return 200, {"ok": True, "user": user}
