"""A stand-in Slack Web API server, and helpers to build signed Slack requests to our app.

Point the real slack_sdk client at it with
``AsyncWebClient(token="xoxb-test", base_url=standin.base_url)`` (the trailing slash matters: the
SDK joins method names onto it with ``urljoin``). chat.* calls arrive as JSON, the others as form
fields or query strings; all are recorded as ``params``.

State is kept per channel so tests can look at threads: ``standin.messages[channel]`` lists
what was posted (with ``thread_ts`` for replies) and reactions. Posting to a user id (``U...``)
lands in that user's DM channel (``D...``), as on Slack. ``conversations.history`` and
``conversations.replies`` read them back (:mod:`tests.standins.slack_history`), with the
``metadata`` a message was posted with when ``include_all_metadata`` is asked for.

File uploads work as Slack's external upload flow (what ``files_upload_v2`` does):
``files.getUploadURLExternal`` hands out an ``upload_url`` on the stand-in itself, the bytes
POSTed there are kept (recorded as method ``upload``; ``fail_next("upload", ...)`` fails it),
and ``files.completeUploadExternal`` shares the files in ``channel_id``/``thread_ts``: they
appear in ``standin.files`` and as a message with ``files`` in the thread.

Socket Mode works as Slack's: ``apps.connections.open``, called with an app-level token
(``xapp-...``), hands out a ``ws://`` URL on the stand-in; the websocket there greets with
``hello``, carries the envelopes a test pushes (``await standin.socket_push(envelope)``, built
with :func:`events_api_envelope`, :func:`interactive_envelope`, :func:`slash_command_envelope`)
and records the client's acks (method ``socket_mode.ack``). Connections are recorded as
``socket_mode.connect``; ``socket_disconnect`` asks the client to reconnect (Slack's
``disconnect`` message), ``socket_drop`` cuts the connections, and ``refuse_socket_mode`` makes
``apps.connections.open`` answer an error (a revoked token) until it is called with None.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from tests.standins import Fault, HandlerResult, RecordedRequest, StandInServer
from tests.standins.slack_history import history_handler, replies_handler
from tests.standins.slack_people import presence_handler, usergroup_users_handler

TEAM_ID = "T0STANDIN"
BOT_USER_ID = "U0BOT0001"
BOT_ID = "B0BOT0001"
APP_ID = "A0STANDIN"
SOCKET_MODE_PATH = "/socket-mode"


# Faults ------------------------------------------------------------------------------------
def rate_limited(retry_after: int = 1) -> Fault:
    """HTTP 429 with a Retry-After header, as the Web API answers when rate limited."""
    return Fault(429, {"ok": False, "error": "ratelimited"},
                 headers={"Retry-After": str(retry_after)})


def server_error(status: int = 500) -> Fault:
    """A 5xx with an HTML body (what Slack's edge really returns, not JSON)."""
    return Fault(status, f"<html><body>{status} Server Error</body></html>",
                 content_type="text/html")


def api_error(error: str) -> Fault:
    """HTTP 200 with ``{"ok": false, "error": ...}``: how the Web API reports most errors."""
    return Fault(200, {"ok": False, "error": error})


# The server --------------------------------------------------------------------------------
class SlackStandIn(StandInServer):
    """Stand-in Web API. ``base_url`` goes to ``AsyncWebClient(base_url=...)``."""

    json_form_fields = frozenset({"blocks", "attachments", "metadata", "view", "files"})

    def __init__(self, latency: float = 0.0) -> None:
        super().__init__(latency)
        self.messages: dict[str, list[dict[str, Any]]] = {}
        #: Uploads by file id: filename, length, and once POSTed, ``content``; once completed,
        #: ``channel_id``, ``thread_ts``, ``title`` and the sharing message's ``ts``.
        self.files: dict[str, dict[str, Any]] = {}
        #: Files users shared (``host_file``), served at their ``url_private``.
        self.hosted_files: dict[str, dict[str, Any]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.channel_members: dict[str, list[str]] = {}
        #: ``usergroups.users.list`` by group id, and ``users.getPresence`` (default active).
        self.usergroups: dict[str, list[str]] = {}
        self.presence: dict[str, str] = {}
        self._ts_counter = itertools.count(1)
        self._ts_base = int(time.time())
        # Socket Mode: tickets handed out by apps.connections.open, the open websockets (the
        # newest last: envelopes go there, as Slack uses one of an app's connections).
        self._socket_tickets: set[str] = set()
        self._sockets: list[web.WebSocketResponse] = []
        self._socket_refusal: str | None = None
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

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """The replies posted in the thread of ``ts`` in ``channel``, in order."""
        return [m for m in self.messages.get(channel, []) if m.get("thread_ts") == ts]

    def find(self, channel: str, ts: str) -> dict[str, Any] | None:
        return next((m for m in self.messages.get(channel, []) if m["ts"] == ts), None)

    def seed_message(self, channel: str, text: str) -> str:
        """Put a bot message in ``channel`` without a request (e.g. a case parent to thread
        under); returns its ts."""
        _, body = self._post_message({"channel": channel, "text": text})
        return str(body["ts"])

    def host_file(self, name: str, content: bytes, mimetype: str,
                  size: int | None = None) -> dict[str, Any]:
        """Keep a file as if a user had uploaded it; the file object a message event carries
        (``url_private`` on the stand-in). ``size`` overrides the declared size."""
        file_id = f"F{next(self._ts_counter):08d}"
        shown = {"id": file_id, "name": name, "title": name, "mimetype": mimetype,
                 "size": len(content) if size is None else size,
                 "url_private": f"{self.origin}/files-pri/{file_id}/{name}"}
        self.hosted_files[file_id] = {"content": content, "mimetype": mimetype, "file": shown}
        return dict(shown)

    def shared_files(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        """The completed uploads shared in the thread of ``thread_ts``, in order."""
        return [f for f in self.files.values()
                if f.get("channel_id") == channel and f.get("thread_ts") == thread_ts]

    # Plumbing ----------------------------------------------------------------------------
    def _routes(self) -> list[tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]]]]:
        return [
            ("*", "/api/{method}", self._on_api),
            ("POST", "/response_url/{name}", self._on_response_url),
            ("POST", "/upload/{file_id}", self._on_upload),
            ("GET", SOCKET_MODE_PATH, self._on_socket),
            ("GET", "/files-pri/{file_id}/{name}", self._on_private_file),
        ]

    async def _on_private_file(self, request: web.Request) -> web.StreamResponse:
        """A shared file's ``url_private``: the bytes, to a request with a bot token
        (recorded as method ``file_download``; ``fail_next("file_download", ...)`` fails it)."""
        hosted = self.hosted_files.get(request.match_info["file_id"])
        authorized = request.headers.get("Authorization", "").startswith("Bearer xoxb-")

        async def answer(name: str, params: dict[str, Any]) -> HandlerResult:
            if hosted is None:
                return 404, {"ok": False, "error": "file_not_found"}
            if not authorized:
                return 403, {"ok": False, "error": "not_authed"}
            return 200, {"ok": True}

        response = await self._handle(request, "file_download", answer)
        if response.status == 200 and hosted is not None:
            return web.Response(body=hosted["content"], content_type=hosted["mimetype"])
        return response

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

    async def _on_upload(self, request: web.Request) -> web.StreamResponse:
        """The upload URL: takes the raw bytes (or a multipart ``file``), answers in text."""
        file_id = request.match_info["file_id"]
        if request.content_type == "multipart/form-data":
            field = (await request.post()).get("file")
            content = field.file.read() if isinstance(field, web.FileField) else b""
        else:
            content = await request.read()  # cached: the recording parser reads it again

        async def answer(name: str, params: dict[str, Any]) -> HandlerResult:
            upload = self.files.get(file_id)
            if upload is None:
                return 404, {"ok": False, "error": "file_not_found"}
            upload["content"] = content
            return 200, {"ok": True, "size": len(content)}

        response = await self._handle(request, "upload", answer)
        if response.status == 200:
            # Slack's upload endpoint answers in plain text, not JSON.
            return web.Response(text=f"OK - {len(content)}", content_type="text/plain")
        return response

    def _get_upload_url(self, params: dict[str, Any]) -> HandlerResult:
        filename, length = params.get("filename"), str(params.get("length") or "")
        if not filename or not length.isdigit():
            return 200, {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._ts_counter):08d}"
        self.files[file_id] = {"id": file_id, "filename": str(filename), "length": int(length)}
        return 200, {"ok": True, "file_id": file_id,
                     "upload_url": f"{self.origin}/upload/{file_id}"}

    def _complete_upload(self, params: dict[str, Any]) -> HandlerResult:
        files = params.get("files")
        if isinstance(files, str):  # sent in the query string, where nothing is decoded
            try:
                files = json.loads(files)
            except ValueError:
                files = None
        if not isinstance(files, list) or not files:
            return 200, {"ok": False, "error": "invalid_arguments"}
        channel, thread_ts = params.get("channel_id"), params.get("thread_ts")
        if thread_ts and not channel:
            return 200, {"ok": False, "error": "invalid_arguments"}
        uploads = [self.files.get(str(f.get("id"))) for f in files]
        if any(u is None or "content" not in u for u in uploads):
            return 200, {"ok": False, "error": "file_not_found"}
        completed: list[dict[str, Any]] = []
        for upload, wanted in zip(uploads, files, strict=True):
            assert upload is not None
            if len(upload["content"]) != upload["length"]:
                return 200, {"ok": False, "error": "file_upload_size_mismatch"}
            upload["title"] = wanted.get("title") or upload["filename"]
            completed.append({"id": upload["id"], "name": upload["filename"],
                              "title": upload["title"], "size": upload["length"]})
        if channel:
            # Sharing a file posts a message carrying it (in the thread, if one is given).
            message: dict[str, Any] = {
                "type": "message", "ts": self._next_ts(), "user": BOT_USER_ID,
                "text": str(params.get("initial_comment") or ""), "files": completed,
            }
            if thread_ts:
                message["thread_ts"] = str(thread_ts)
            self.messages.setdefault(str(channel), []).append(message)
            for upload in uploads:
                assert upload is not None
                upload.update(channel_id=str(channel), thread_ts=thread_ts, ts=message["ts"])
        return 200, {"ok": True, "files": completed}

    def _open_view(self, params: dict[str, Any]) -> HandlerResult:
        view = params.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        if not params.get("trigger_id") or not isinstance(view, dict):
            return 200, {"ok": False, "error": "invalid_arguments"}
        return 200, {"ok": True, "view": {**view, "id": f"V{next(self._ts_counter):08d}"}}

    def _next_ts(self) -> str:
        # Unique and increasing, shaped like Slack's "seconds.micro-sequence".
        n = next(self._ts_counter)
        return f"{self._ts_base + n // 1_000_000}.{n % 1_000_000:06d}"

    @staticmethod
    def _dm_channel(user_id: str) -> str:
        return "D" + hashlib.sha1(user_id.encode()).hexdigest()[:10].upper()

    # Socket Mode ---------------------------------------------------------------------------
    def refuse_socket_mode(self, error: str | None) -> None:
        """Make ``apps.connections.open`` answer ``{"ok": false, "error": error}`` from now on
        (e.g. ``invalid_auth``, ``token_revoked``); None accepts app tokens again."""
        self._socket_refusal = error

    @property
    def socket_connections(self) -> int:
        """How many Socket Mode websockets are open now."""
        return len(self._sockets)

    async def socket_connected(self, count: int = 1, timeout: float = 5.0,
                               since: int = 0) -> RecordedRequest:
        """The ``count``-th Socket Mode connection (after ``since``), once the client made it."""
        return await self.wait_for("socket_mode.connect", count=count, timeout=timeout,
                                   since=since)

    async def socket_push(self, envelope: dict[str, Any], timeout: float = 5.0) -> dict[str, Any]:
        """Send ``envelope`` over the newest Socket Mode connection and return the client's
        ack (``{"envelope_id": ..., "payload": ...}``) once it arrives.

        Raises AssertionError when no client is connected or no ack comes within ``timeout``.
        """
        envelope_id = str(envelope["envelope_id"])
        await self._in_server_loop(self._send_to_socket(json.dumps(envelope)))
        ack = await self.log.wait_for(
            lambda r: r.method == "socket_mode.ack" and r.params.get("envelope_id") == envelope_id,
            1, timeout, 0, f"ack of envelope {envelope_id}")
        return dict(ack.params)

    def socket_acks(self, envelope_id: str | None = None) -> list[dict[str, Any]]:
        """The acks received so far (of one envelope, if given), in order."""
        return [dict(r.params) for r in self.calls("socket_mode.ack")
                if envelope_id is None or r.params.get("envelope_id") == envelope_id]

    async def socket_disconnect(self, reason: str = "refresh_requested") -> None:
        """Send Slack's ``disconnect`` message: the client should open a new connection."""
        message = {"type": "disconnect", "reason": reason,
                   "debug_info": {"host": "standin-applink"}}
        await self._in_server_loop(self._send_to_socket(json.dumps(message)))

    async def socket_drop(self) -> None:
        """Close every Socket Mode connection from the server side (a network cut, a deploy)."""
        await self._in_server_loop(self._close_sockets())

    async def _in_server_loop(self, coro: Any) -> Any:
        # The websockets belong to the stand-in's loop, which may run in another thread.
        if self._loop is None or self._loop is asyncio.get_running_loop():
            return await coro
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._loop))

    async def _send_to_socket(self, text: str) -> None:
        open_sockets = [ws for ws in self._sockets if not ws.closed]
        if not open_sockets:
            raise AssertionError("no Socket Mode client is connected")
        await open_sockets[-1].send_str(text)

    async def _close_sockets(self) -> None:
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await ws.close(code=1001, message=b"going away")

    def _open_connection(self, authorization: str) -> HandlerResult:
        if not authorization.removeprefix("Bearer ").startswith("xapp-"):
            # A bot or user token where the app-level token belongs.
            return 200, {"ok": False, "error": "not_allowed_token_type"}
        if self._socket_refusal is not None:
            return 200, {"ok": False, "error": self._socket_refusal}
        ticket = uuid.uuid4().hex
        self._socket_tickets.add(ticket)
        url = f"ws://127.0.0.1:{self._port}{SOCKET_MODE_PATH}?ticket={ticket}&app_id={APP_ID}"
        return 200, {"ok": True, "url": url}

    def _record_socket(self, method: str, params: dict[str, Any]) -> None:
        self.log.add(RecordedRequest(
            index=-1, method=method, params=params, headers={}, http_method="WS",
            path=SOCKET_MODE_PATH, status=200, response=None, received_at=time.monotonic()))

    async def _on_socket(self, request: web.Request) -> web.StreamResponse:
        """A Socket Mode websocket: ``hello`` first, then envelopes out and acks in."""
        ticket = request.query.get("ticket", "")
        if ticket not in self._socket_tickets:
            return web.json_response({"ok": False, "error": "invalid_ticket"}, status=401)
        ws = web.WebSocketResponse()  # answers the client's pings itself
        await ws.prepare(request)
        self._sockets.append(ws)
        self._record_socket("socket_mode.connect", {"ticket": ticket})
        try:
            await ws.send_str(json.dumps({
                "type": "hello", "num_connections": len(self._sockets),
                "debug_info": {"host": "standin-applink", "build_number": 1,
                               "approximate_connection_time": 3600},
                "connection_info": {"app_id": APP_ID},
            }))
            async for message in ws:
                if message.type != web.WSMsgType.TEXT:
                    continue
                try:
                    data = json.loads(message.data)
                except ValueError:
                    data = None
                if isinstance(data, dict) and "envelope_id" in data:
                    self._record_socket("socket_mode.ack", data)
                else:
                    self._record_socket("socket_mode.unexpected", {"data": message.data})
        finally:
            self._sockets.remove(ws)
            self._record_socket("socket_mode.disconnect", {"ticket": ticket})
        return ws

    async def stop(self) -> None:
        # Open websockets would hold the server's shutdown until they time out.
        await self._close_sockets()
        await super().stop()

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

    def _file_info(self, params: dict[str, Any]) -> HandlerResult:
        """``files.info`` of a hosted file (its ``url_private`` on the stand-in)."""
        hosted = self.hosted_files.get(str(params.get("file") or ""))
        if hosted is None:
            return 200, {"ok": False, "error": "file_not_found"}
        return 200, {"ok": True, "file": hosted["file"]}

    def _user_info(self, params: dict[str, Any]) -> HandlerResult:
        user = self.users.get(str(params.get("user") or ""))
        if user is None:
            return 200, {"ok": False, "error": "user_not_found"}
        return 200, {"ok": True, "user": user}


# Requests from Slack to our app (Events API, interactivity) ---------------------------------
def signed_headers(signing_secret: str, body: bytes | str,
                   timestamp: int | None = None) -> dict[str, str]:
    """The X-Slack-Signature headers Slack would send with ``body`` (computed by slack_sdk)."""
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=stamp, body=body)
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature or ""}


_event_ids = itertools.count(1)


def event_envelope(event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    """An Events API ``event_callback`` around ``event`` (JSON-post it to /slack/events)."""
    return {
        "token": "legacy-verification-token", "team_id": TEAM_ID, "api_app_id": APP_ID,
        "type": "event_callback", "event": event,
        "event_id": event_id or f"Ev{next(_event_ids):08d}", "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True,
                            "is_enterprise_install": False, "enterprise_id": None}],
    }


def thread_reply_event(channel: str, thread_ts: str, text: str, user: str = "U0AGENT01",
                       ts: str | None = None) -> dict[str, Any]:
    """A human's ``message`` event in a thread."""
    return {"type": "message", "channel": channel, "user": user, "text": text,
            # A seconds base far from the stand-in's own message ts, so the two never collide.
            "ts": ts or f"{int(time.time()) + 500_000}.{next(_event_ids):06d}",
            "thread_ts": thread_ts,
            "channel_type": "channel", "team": TEAM_ID}


def block_action_payload(action_id: str, value: str, *, user: str = "U0AGENT01",
                         channel: str = "C0SUPPORT", message_ts: str = "1.000001",
                         response_url: str | None = None) -> dict[str, Any]:
    """The ``block_actions`` payload Slack sends when a Block Kit button is pressed."""
    return {
        "type": "block_actions", "team": {"id": TEAM_ID}, "api_app_id": APP_ID,
        "user": {"id": user, "team_id": TEAM_ID}, "trigger_id": "1.2.3",
        "channel": {"id": channel}, "container": {"type": "message", "message_ts": message_ts,
                                                  "channel_id": channel},
        "message": {"type": "message", "ts": message_ts, "text": ""},
        "response_url": response_url or "https://hooks.slack.invalid/actions/1",
        "actions": [{"type": "button", "action_id": action_id, "block_id": "b",
                     "value": value, "action_ts": str(time.time())}],
    }


def block_action_form(action_id: str, value: str, *, user: str = "U0AGENT01",
                      channel: str = "C0SUPPORT", message_ts: str = "1.000001",
                      response_url: str | None = None) -> str:
    """The form body Slack posts when a Block Kit button is pressed (``payload=<json>``)."""
    payload = block_action_payload(action_id, value, user=user, channel=channel,
                                   message_ts=message_ts, response_url=response_url)
    return urlencode({"payload": json.dumps(payload)})


# Socket Mode envelopes (what Slack sends over the websocket) ---------------------------------
def socket_envelope(kind: str, payload: dict[str, Any], *, envelope_id: str | None = None,
                    accepts_response_payload: bool = False,
                    **extra: Any) -> dict[str, Any]:
    """A Socket Mode envelope of type ``kind`` (``events_api``, ``interactive``,
    ``slash_commands``) around ``payload``; each has its own ``envelope_id``."""
    return {"envelope_id": envelope_id or str(uuid.uuid4()), "type": kind, "payload": payload,
            "accepts_response_payload": accepts_response_payload, **extra}


def events_api_envelope(event: dict[str, Any], event_id: str | None = None,
                        retry_attempt: int = 0) -> dict[str, Any]:
    """An Events API delivery. Slack's retry of an unacknowledged one is a new envelope with
    the same ``event_id`` and ``retry_attempt`` counting up."""
    return socket_envelope("events_api", event_envelope(event, event_id),
                           retry_attempt=retry_attempt,
                           retry_reason="timeout" if retry_attempt else "")


def interactive_envelope(payload: dict[str, Any]) -> dict[str, Any]:
    """An interaction (``block_actions``, ``view_submission``...); view submissions may be
    answered in the ack (validation errors)."""
    return socket_envelope("interactive", payload,
                           accepts_response_payload=payload.get("type") == "view_submission")


def slash_command_envelope(command: str, text: str, *, user: str = "U0AGENT01",
                           channel: str = "C0SUPPORT") -> dict[str, Any]:
    """A slash command; the ack's payload is what the invoking user sees."""
    payload = {
        "token": "legacy-verification-token", "team_id": TEAM_ID, "team_domain": "standin",
        "channel_id": channel, "channel_name": "support", "user_id": user, "user_name": "agent",
        "command": command, "text": text, "api_app_id": APP_ID, "is_enterprise_install": "false",
        "response_url": "https://hooks.slack.invalid/commands/1", "trigger_id": "4.5.6",
    }
    return socket_envelope("slash_commands", payload, accepts_response_payload=True)
