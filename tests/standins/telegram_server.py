"""The stand-in Telegram Bot API server: its routes, the message and bot-profile methods, and
the test controls of the chats it plays.

Point the real python-telegram-bot at it with ``telegram.Bot(token, base_url=standin.base_url)``
(``base_url`` has the same form as Telegram's ``https://api.telegram.org/bot``: PTB appends the
token). PTB posts form fields, JSON-encoding the non-string ones; ``reply_markup`` and friends are
recorded decoded.

Behaviour worth knowing: message ids count per chat from 1; ``editMessageText`` with unchanged
text and markup answers Telegram's "message is not modified" 400; chats in ``blocked_chats``
answer 403 "bot was blocked by the user"; ``answer_late`` makes one call's answer slow. File
downloads (:mod:`tests.standins.telegram_files`) and webhook / ``getUpdates`` delivery
(:mod:`tests.standins.telegram_delivery`) are parts of the same server, mixed in.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from tests.standins import HandlerResult
from tests.standins.telegram_delivery import TelegramUpdateDelivery
from tests.standins.telegram_faults import error_body
from tests.standins.telegram_files import TelegramFiles

MAX_TEXT_CHARS = 4096
MAX_CALLBACK_DATA_BYTES = 64
NOT_MODIFIED = ("Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message")


class TelegramStandIn(TelegramFiles, TelegramUpdateDelivery):
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

    def answer_late(self, method: str, seconds: float) -> None:
        """The next call of ``method`` is carried out at once (the seller sees the message)
        but answered ``seconds`` later, as Telegram answers the upload of a big file."""
        name = method.lower()
        carry_out = self._handlers[name]

        async def late(params: dict[str, Any]) -> HandlerResult:
            self._handlers[name] = carry_out  # only this call is late
            result = await carry_out(params)
            await asyncio.sleep(seconds)
            return result

        self._handlers[name] = late

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
            return 404, error_body(404, "Not Found")
        return await handler(params)

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
            return 400, error_body(400, "Bad Request: chat_id is empty")
        if chat_id in self.blocked_chats:
            return 403, error_body(403, "Forbidden: bot was blocked by the user")
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
            return 400, error_body(400, "Bad Request: message text is empty")
        if len(text) > MAX_TEXT_CHARS:
            return 400, error_body(400, "Bad Request: message is too long")
        markup = params.get("reply_markup")
        if _callback_data_too_long(markup):
            return 400, error_body(400, "Bad Request: BUTTON_DATA_INVALID")
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
            return 400, error_body(400, "Bad Request: message to edit not found")
        text = str(params.get("text", ""))
        markup = params.get("reply_markup")
        if text == message.get("text") and markup == message.get("reply_markup"):
            return 400, error_body(400, NOT_MODIFIED)
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
            return 400, error_body(400, "Bad Request: message to delete not found")
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

    async def _set_my_commands(self, params: dict[str, Any]) -> HandlerResult:
        commands = params.get("commands")
        if not isinstance(commands, list) or not all(
                isinstance(c, dict) and c.get("command") and c.get("description")
                for c in commands):
            return 400, error_body(400, "Bad Request: can't parse commands")
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


def _callback_data_too_long(markup: Any) -> bool:
    if not isinstance(markup, dict):
        return False
    for row in markup.get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and len(str(data).encode()) > MAX_CALLBACK_DATA_BYTES:
                return True
    return False
