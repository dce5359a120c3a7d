"""A stand-in Telegram Bot API server, and builders of the updates Telegram sends to bots.

Point the real python-telegram-bot at it with ``telegram.Bot(token, base_url=standin.base_url)``
(``base_url`` has the same form as Telegram's ``https://api.telegram.org/bot``: PTB appends the
token). PTB posts form fields, JSON-encoding the non-string ones; ``reply_markup`` and friends are
recorded decoded.

Behaviour worth knowing: message ids count per chat from 1; ``editMessageText`` with unchanged
text and markup answers Telegram's "message is not modified" 400; chats in ``blocked_chats``
answer 403 "bot was blocked by the user"; ``getFile`` refuses files over 20 MB like the real
Bot API; file downloads (``/file/bot<token>/<file_path>``) are recorded as method ``download``
(``fail_next("download", ...)`` fails them) and answer 404 for unknown paths;
``getUpdates`` long-polls the updates queued with ``push_update`` and answers 409 while a
webhook is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from tests.standins import Fault, HandlerResult, StandInServer

MAX_TEXT_CHARS = 4096
MAX_CALLBACK_DATA_BYTES = 64
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
NOT_MODIFIED = ("Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message")


# Faults ------------------------------------------------------------------------------------
def _error(code: int, description: str, **parameters: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return body


def flood_wait(retry_after: int) -> Fault:
    """429 with ``parameters.retry_after``, as Telegram's flood control answers."""
    return Fault(429, _error(429, f"Too Many Requests: retry after {retry_after}",
                             retry_after=retry_after))


def server_error(status: int = 500) -> Fault:
    """A 5xx from the Bot API."""
    return Fault(status, _error(status, "Internal Server Error"))


def blocked_by_user() -> Fault:
    """403: the user blocked the bot (delivery to this chat is impossible until unblocked)."""
    return Fault(403, _error(403, "Forbidden: bot was blocked by the user"))


def bad_request(description: str = "Bad Request: chat not found") -> Fault:
    return Fault(400, _error(400, description))


# The server --------------------------------------------------------------------------------
class TelegramStandIn(StandInServer):
    """Stand-in Bot API. ``base_url``/``base_file_url`` go to ``telegram.Bot``."""

    json_form_fields = frozenset({
        "reply_markup", "entities", "caption_entities", "allowed_updates",
        "link_preview_options", "reply_parameters", "commands", "media",
    })

    def __init__(self, latency: float = 0.0, bot_username: str = "frontdoor_test_bot") -> None:
        super().__init__(latency)
        self.bot_username = bot_username
        self.blocked_chats: set[str] = set()
        self.messages: dict[tuple[str, int], dict[str, Any]] = {}
        self.files: dict[str, tuple[str, bytes]] = {}  # file_id -> (file_path, content)
        self._declared_sizes: dict[str, int] = {}
        self.webhook: dict[str, Any] | None = None
        #: What getWebhookInfo reports as the last delivery failure: (unix time, message).
        self.webhook_last_error: tuple[int, str] | None = None
        #: The bot's profile as set with setMyCommands / setMyDescription /
        #: setMyShortDescription.
        self.commands: list[dict[str, Any]] = []
        self.description: str | None = None
        self.short_description: str | None = None
        #: The same for users of one app language (``language_code``): {code: {field: value}}.
        self.localized: dict[str, dict[str, Any]] = {}
        self._message_ids: dict[str, itertools.count[int]] = {}
        #: Messages taken back with ``deleteMessage``, by (chat id, message id).
        self.deleted: dict[tuple[str, int], dict[str, Any]] = {}
        self._updates: list[dict[str, Any]] = []
        self._updates_lock = threading.Lock()
        self._updates_changed: asyncio.Condition | None = None
        self._handlers: dict[str, Callable[[dict[str, Any]], Awaitable[HandlerResult]]] = {
            "getme": self._get_me,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "answercallbackquery": self._true,
            "getfile": self._get_file,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "getupdates": self._get_updates,
            "senddocument": self._send_media("document"),
            "sendphoto": self._send_media("photo"),
            "sendchataction": self._true,
            "setmycommands": self._set_my_commands,
            "setmydescription": self._set_profile_text("description"),
            "setmyshortdescription": self._set_profile_text("short_description"),
            "deletemessage": self._delete_message,
            "close": self._true,
            "logout": self._true,
        }

    @property
    def base_url(self) -> str:
        """For ``telegram.Bot(base_url=...)`` and TELEGRAM_API_BASE_URL (token is appended)."""
        return f"{self.origin}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.origin}/file/bot"

    # Test controls -----------------------------------------------------------------------
    def block_chat(self, chat_id: int | str) -> None:
        """From now on every send to this chat answers 403 "bot was blocked by the user"."""
        self.blocked_chats.add(str(chat_id))

    def add_file(self, file_id: str, content: bytes = b"", file_path: str | None = None,
                 size: int | None = None) -> None:
        """Make ``getFile``/download know a file. ``size`` overrides ``len(content)``."""
        path = file_path or f"documents/{file_id}.bin"
        self.files[file_id] = (path, content)
        if size is not None:
            self._declared_sizes[file_id] = size

    def push_update(self, update: dict[str, Any]) -> None:
        """Queue an update for ``getUpdates`` (polling mode). Safe from any thread."""
        with self._updates_lock:
            self._updates.append(update)
        loop, changed = self._loop, self._updates_changed
        if loop is not None and changed is not None:
            loop.call_soon_threadsafe(lambda: asyncio.ensure_future(_notify(changed)))

    def sent_texts(self, chat_id: int | str | None = None) -> list[str]:
        """Texts of the successful sendMessage calls (to one chat), in order."""
        return [r.params.get("text", "") for r in self.calls("sendMessage")
                if r.status == 200 and (chat_id is None or r.params.get("chat_id") == str(chat_id))]

    # Plumbing ----------------------------------------------------------------------------
    def _routes(self) -> list[tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]]]]:
        return [
            ("*", "/bot{token}/{method}", self._on_api),
            ("GET", "/file/bot{token}/{file_path:.+}", self._on_file),
        ]

    async def _on_api(self, request: web.Request) -> web.StreamResponse:
        return await self._handle(request, request.match_info["method"], self._answer)

    async def _answer(self, method: str, params: dict[str, Any]) -> HandlerResult:
        handler = self._handlers.get(method.lower())
        if handler is None:
            return 404, _error(404, "Not Found")
        return await handler(params)

    async def _on_file(self, request: web.Request) -> web.StreamResponse:
        wanted = request.match_info["file_path"]
        found = next((content for path, content in self.files.values() if path == wanted),
                     None)

        async def answer(name: str, params: dict[str, Any]) -> HandlerResult:
            if found is None:
                return 404, _error(404, "Not Found")
            return 200, {"file_path": wanted, "size": len(found)}

        response = await self._handle(request, "download", answer)
        if response.status == 200 and found is not None:
            return web.Response(body=found, content_type="application/octet-stream")
        return response

    # Methods -----------------------------------------------------------------------------
    def _bot_user(self) -> dict[str, Any]:
        return {"id": 7000000001, "is_bot": True, "first_name": "Frontdoor",
                "username": self.bot_username, "can_join_groups": False,
                "can_read_all_group_messages": False, "supports_inline_queries": False}

    async def _true(self, params: dict[str, Any]) -> HandlerResult:
        return 200, {"ok": True, "result": True}

    async def _get_me(self, params: dict[str, Any]) -> HandlerResult:
        return 200, {"ok": True, "result": self._bot_user()}

    def _chat(self, chat_id: str) -> dict[str, Any]:
        numeric = int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id
        return {"id": numeric, "type": "private" if isinstance(numeric, int) and numeric > 0
                else "supergroup", "first_name": "Seller"}

    def _refusal(self, chat_id: str) -> HandlerResult | None:
        if not chat_id:
            return 400, _error(400, "Bad Request: chat_id is empty")
        if chat_id in self.blocked_chats:
            return 403, _error(403, "Forbidden: bot was blocked by the user")
        return None

    def _new_message(self, chat_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        counter = self._message_ids.setdefault(chat_id, itertools.count(1))
        message = {"message_id": next(counter), "from": self._bot_user(),
                   "chat": self._chat(chat_id), "date": int(time.time()), **fields}
        self.messages[(chat_id, message["message_id"])] = message
        return message

    async def _send_message(self, params: dict[str, Any]) -> HandlerResult:
        chat_id = str(params.get("chat_id", ""))
        refusal = self._refusal(chat_id)
        if refusal:
            return refusal
        text = str(params.get("text", ""))
        if not text.strip():
            return 400, _error(400, "Bad Request: message text is empty")
        if len(text) > MAX_TEXT_CHARS:
            return 400, _error(400, "Bad Request: message is too long")
        markup = params.get("reply_markup")
        if _callback_data_too_long(markup):
            return 400, _error(400, "Bad Request: BUTTON_DATA_INVALID")
        fields: dict[str, Any] = {"text": text}
        if markup:
            fields["reply_markup"] = markup
        return 200, {"ok": True, "result": self._new_message(chat_id, fields)}

    async def _edit_message_text(self, params: dict[str, Any]) -> HandlerResult:
        chat_id = str(params.get("chat_id", ""))
        refusal = self._refusal(chat_id)
        if refusal:
            return refusal
        key = (chat_id, int(params.get("message_id", 0)))
        message = self.messages.get(key)
        if message is None:
            return 400, _error(400, "Bad Request: message to edit not found")
        text = str(params.get("text", ""))
        markup = params.get("reply_markup")
        if text == message.get("text") and markup == message.get("reply_markup"):
            return 400, _error(400, NOT_MODIFIED)
        message = {**message, "text": text, "edit_date": int(time.time())}
        message.pop("reply_markup", None)  # like Telegram: an edit without markup drops it
        if markup:
            message["reply_markup"] = markup
        self.messages[key] = message
        return 200, {"ok": True, "result": message}

    async def _delete_message(self, params: dict[str, Any]) -> HandlerResult:
        """Gone from the chat (``deleted`` keeps it for tests); Telegram's 48-hour limit is
        the caller's to respect (a test makes it refuse with ``fail_next``)."""
        key = (str(params.get("chat_id", "")), int(params.get("message_id", 0)))
        message = self.messages.pop(key, None)
        if message is None:
            return 400, _error(400, "Bad Request: message to delete not found")
        self.deleted[key] = message
        return 200, {"ok": True, "result": True}

    def _send_media(self, kind: str) -> Callable[[dict[str, Any]], Awaitable[HandlerResult]]:
        async def send(params: dict[str, Any]) -> HandlerResult:
            chat_id = str(params.get("chat_id", ""))
            refusal = self._refusal(chat_id)
            if refusal:
                return refusal
            file_id = f"{kind}-{len(self.messages) + 1}"
            media: Any = {"file_id": file_id, "file_unique_id": file_id}
            if kind == "photo":
                media = [{**media, "width": 640, "height": 480}]
            fields: dict[str, Any] = {kind: media}
            if params.get("caption"):
                fields["caption"] = params["caption"]
            return 200, {"ok": True, "result": self._new_message(chat_id, fields)}

        return send

    async def _get_file(self, params: dict[str, Any]) -> HandlerResult:
        file_id = str(params.get("file_id", ""))
        if file_id not in self.files:
            return 400, _error(400, "Bad Request: invalid file_id")
        path, content = self.files[file_id]
        size = self._declared_sizes.get(file_id, len(content))
        if size > MAX_DOWNLOAD_BYTES:
            return 400, _error(400, "Bad Request: file is too big")
        return 200, {"ok": True, "result": {"file_id": file_id, "file_unique_id": file_id,
                                            "file_size": size, "file_path": path}}

    async def _set_webhook(self, params: dict[str, Any]) -> HandlerResult:
        self.webhook = {"url": params.get("url", ""),
                        "secret_token": params.get("secret_token"),
                        "allowed_updates": params.get("allowed_updates")}
        return 200, {"ok": True, "result": True, "description": "Webhook was set"}

    async def _delete_webhook(self, params: dict[str, Any]) -> HandlerResult:
        self.webhook = None
        return 200, {"ok": True, "result": True, "description": "Webhook was deleted"}

    async def _get_webhook_info(self, params: dict[str, Any]) -> HandlerResult:
        with self._updates_lock:
            pending = len(self._updates)
        url = self.webhook["url"] if self.webhook else ""
        info: dict[str, Any] = {"url": url, "has_custom_certificate": False,
                                "pending_update_count": pending}
        if self.webhook and self.webhook.get("allowed_updates"):
            info["allowed_updates"] = self.webhook["allowed_updates"]
        if self.webhook_last_error is not None:
            info["last_error_date"], info["last_error_message"] = self.webhook_last_error
        return 200, {"ok": True, "result": info}

    async def _set_my_commands(self, params: dict[str, Any]) -> HandlerResult:
        commands = params.get("commands")
        if not isinstance(commands, list) or not all(
                isinstance(c, dict) and c.get("command") and c.get("description")
                for c in commands):
            return 400, _error(400, "Bad Request: can't parse commands")
        if params.get("language_code"):
            self.localized.setdefault(str(params["language_code"]), {})["commands"] = commands
        else:
            self.commands = commands
        return 200, {"ok": True, "result": True}

    def _set_profile_text(self, name: str) -> Callable[[dict[str, Any]], Awaitable[HandlerResult]]:
        async def set_text(params: dict[str, Any]) -> HandlerResult:
            if params.get("language_code"):
                self.localized.setdefault(str(params["language_code"]), {})[name] = \
                    params.get(name)
            else:
                setattr(self, name, params.get(name))
            return 200, {"ok": True, "result": True}

        return set_text

    async def _get_updates(self, params: dict[str, Any]) -> HandlerResult:
        if self.webhook:
            return 409, _error(409, "Conflict: can't use getUpdates method while webhook is "
                                    "active; use deleteWebhook to delete the webhook first")
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        # Long polling, capped so a test never hangs on a stand-in.
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), 10.0)
        if self._updates_changed is None:
            self._updates_changed = asyncio.Condition()
        while True:
            with self._updates_lock:
                # Like Telegram, asking from ``offset`` confirms every earlier update.
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
                due = self._updates[:limit]
            remaining = deadline - time.monotonic()
            if due or remaining <= 0:
                return 200, {"ok": True, "result": due}
            async with self._updates_changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._updates_changed.wait(), remaining)


async def _notify(condition: asyncio.Condition) -> None:
    async with condition:
        condition.notify_all()


def _callback_data_too_long(markup: Any) -> bool:
    if not isinstance(markup, dict):
        return False
    for row in markup.get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and len(str(data).encode()) > MAX_CALLBACK_DATA_BYTES:
                return True
    return False


# Updates, as Telegram delivers them to a webhook or getUpdates ------------------------------
_update_ids = itertools.count(100_000)


def _user(user_id: int, first_name: str, last_name: str | None,
          username: str | None) -> dict[str, Any]:
    user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name,
                            "language_code": "en"}
    if last_name:
        user["last_name"] = last_name
    if username:
        user["username"] = username
    return user


def message_update(
    text: str | None = None, *, user_id: int = 424242, first_name: str = "Ada",
    last_name: str | None = "Seller", username: str | None = "ada_sells",
    chat_id: int | None = None, message_id: int = 1, update_id: int | None = None,
    reply_to_message_id: int | None = None, caption: str | None = None,
    **media: Any,
) -> dict[str, Any]:
    """An update with a private message: text, or media (``photo=[...]``, ``document={...}``...).

    A text starting with a /command gets the ``bot_command`` entity Telegram adds.
    """
    chat = chat_id if chat_id is not None else user_id
    message: dict[str, Any] = {
        "message_id": message_id, "date": int(time.time()),
        "from": _user(user_id, first_name, last_name, username),
        "chat": {"id": chat, "type": "private", "first_name": first_name},
    }
    if text is not None:
        message["text"] = text
        if text.startswith("/"):
            length = len(text.split(maxsplit=1)[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    if caption is not None:
        message["caption"] = caption
    if reply_to_message_id is not None:
        message["reply_to_message"] = {
            "message_id": reply_to_message_id, "date": int(time.time()),
            "chat": message["chat"], "from": {"id": 7000000001, "is_bot": True,
                                              "first_name": "Frontdoor"},
            "text": "(an earlier bot message)",
        }
    message.update(media)
    return {"update_id": update_id if update_id is not None else next(_update_ids),
            "message": message}


def callback_update(
    data: str, *, user_id: int = 424242, first_name: str = "Ada", message_id: int = 1,
    chat_id: int | None = None, update_id: int | None = None, query_id: str | None = None,
) -> dict[str, Any]:
    """An update for a pressed inline-keyboard button carrying ``data``."""
    chat = chat_id if chat_id is not None else user_id
    update_id = update_id if update_id is not None else next(_update_ids)
    return {
        "update_id": update_id,
        "callback_query": {
            "id": query_id or f"cq{update_id}",
            "from": _user(user_id, first_name, None, None),
            "chat_instance": "-1",
            "data": data,
            "message": {
                "message_id": message_id, "date": int(time.time()),
                "chat": {"id": chat, "type": "private", "first_name": first_name},
                "from": {"id": 7000000001, "is_bot": True, "first_name": "Frontdoor"},
                "text": "(the message with the buttons)",
            },
        },
    }


def my_chat_member_update(status: str, *, user_id: int = 424242, first_name: str = "Ada",
                          update_id: int | None = None) -> dict[str, Any]:
    """The update Telegram sends when a user blocks the bot in their private chat (``status``
    "kicked") or unblocks it ("member")."""
    bot = {"id": 7000000001, "is_bot": True, "first_name": "Frontdoor"}

    def member(state: str) -> dict[str, Any]:
        # A "kicked" member always carries until_date (0: for ever).
        return {"user": bot, "status": state, **({"until_date": 0} if state == "kicked" else {})}

    return {
        "update_id": update_id if update_id is not None else next(_update_ids),
        "my_chat_member": {
            "chat": {"id": user_id, "type": "private", "first_name": first_name},
            "from": _user(user_id, first_name, None, None), "date": int(time.time()),
            "old_chat_member": member("member" if status == "kicked" else "kicked"),
            "new_chat_member": member(status),
        },
    }


def as_json(update: dict[str, Any]) -> bytes:
    """The update as the bytes Telegram would POST to a webhook."""
    return json.dumps(update).encode()
