"""Telegram updates -> engine messages, and engine replies -> Bot API call arguments.

Pure functions over python-telegram-bot types: no network, no state.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from telegram import (
    Bot,
    CallbackQuery,
    Chat,
    ChatMember,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
    User,
)

from adapters.inbound_checks import (
    MalformedPayload,
    check_nesting,
    checked_membership,
    checked_seller_message,
    required_object,
    required_string,
)
from bot.messages import Attachment, ChatMembership, Reply, SellerMessage

CHANNEL = "telegram"

#: Telegram refuses ``callback_data`` longer than 64 bytes (UTF-8), so button payloads must fit.
MAX_CALLBACK_DATA_BYTES = 64
#: Telegram refuses message texts longer than 4096 characters.
MAX_TEXT_CHARS = 4096

# "/case@FrontdoorBot CX-1" -> "case", "CX-1". The @bot suffix appears in group chats.
_COMMAND = re.compile(r"^/(?P<name>[A-Za-z0-9_]{1,32})(?:@\w+)?(?:\s+(?P<args>.*))?$", re.DOTALL)


class CallbackDataTooLong(ValueError):
    """A button payload does not fit Telegram's 64-byte ``callback_data``."""


@dataclass(frozen=True)
class OutsidePrivateChat:
    """A message or button press in a group, supergroup or channel the bot was added to.

    It is no seller's turn: sellers talk to the bot in their private chat, and a turn taken
    in a group would make the group the seller's address, so agents' replies on private
    cases would be posted there for everyone in it to read.
    """

    chat_id: str
    chat_type: str
    user_id: str | None
    event_id: str
    callback_query_id: str | None = None


# Inbound -------------------------------------------------------------------------------------
#: Telegram's ids are integers that fit in 64 bits (chat ids may be negative).
_ID_RANGE = 2**63


def translate_update(
    data: Mapping[str, Any], bot: Bot | None = None,
) -> SellerMessage | ChatMembership | OutsidePrivateChat | None:
    """What one update Telegram sent means for us: a seller's message, a change of the chat's
    membership, a message or button press outside a private chat (not processed), or None for
    updates we do not handle.

    Raises MalformedPayload, with the reason, for an update that can never be processed: a
    field of the wrong type, a message without its chat or sender, ids that do not fit,
    nesting deep enough to exhaust recursion. What it returns is safe to store.
    """
    check_nesting(data)
    _check_shape(data)
    try:
        membership = chat_membership_from_update(data, bot)
        if membership is not None:
            return checked_membership(membership)
        update = Update.de_json(dict(data), bot)
        outside = outside_private_chat(update)
        if outside is not None:
            return outside
        msg = _seller_message(update, data)
        return None if msg is None else checked_seller_message(msg)
    except MalformedPayload:
        raise
    except Exception as exc:  # translation is pure: any failure means the update is unreadable
        raise MalformedPayload(f"python-telegram-bot cannot read it: {type(exc).__name__}: "
                               f"{_short(exc)}") from exc


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]


def _check_shape(data: Mapping[str, Any]) -> None:
    """The fields we read, with the types Telegram documents: python-telegram-bot takes most
    values as they come, so a string where an id belongs would otherwise pass."""
    _telegram_id(data, "update_id", "update")
    if "message" in data:
        _check_message(data["message"], "message")
    if "callback_query" in data:
        query = required_object(data, "callback_query", "update")
        required_string(query, "id", "button press")
        _user(query, "button press")
        data_field = query.get("data")
        if data_field is not None:
            if not isinstance(data_field, str):
                raise MalformedPayload("button press: data is not a string")
            if len(data_field.encode("utf-8", "surrogatepass")) > MAX_CALLBACK_DATA_BYTES:
                raise MalformedPayload(f"button press: data is over {MAX_CALLBACK_DATA_BYTES} bytes")
        if query.get("message") is not None:
            _check_message(query["message"], "button press's message")
    if "my_chat_member" in data:
        changed = required_object(data, "my_chat_member", "update")
        _chat(changed, "membership change")
        _user(changed, "membership change")
        member = required_object(changed, "new_chat_member", "membership change")
        required_string(member, "status", "membership change's new member")


def _check_message(value: Any, where: str) -> None:
    if value is None:
        return  # PTB reads a null message as no message: nothing to handle
    if not isinstance(value, Mapping):
        raise MalformedPayload(f"{where} is not an object")
    _telegram_id(value, "message_id", where)
    _chat(value, where)
    if value.get("from") is not None:  # channel posts have no sender; they are ignored
        _user(value, where)
    for field in ("text", "caption"):
        if value.get(field) is not None and not isinstance(value[field], str):
            raise MalformedPayload(f"{where}: {field} is not a string")
    if value.get("reply_to_message") is not None:
        _check_message(value["reply_to_message"], f"{where}'s replied-to message")


def _telegram_id(parent: Mapping[str, Any], key: str, where: str) -> int:
    value = parent.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedPayload(f"{where}: {key} is missing or not an integer")
    if not -_ID_RANGE < value < _ID_RANGE:
        raise MalformedPayload(f"{where}: {key} does not fit in 64 bits")
    return value


def _chat(parent: Mapping[str, Any], where: str) -> None:
    _telegram_id(required_object(parent, "chat", where), "id", f"{where}'s chat")


def _user(parent: Mapping[str, Any], where: str) -> None:
    _telegram_id(required_object(parent, "from", where), "id", f"{where}'s sender")


def seller_message_from_update(update: Update | Mapping[str, Any],
                               bot: Bot | None = None) -> SellerMessage | None:
    """The engine's view of an update, or None for updates the engine does not handle.

    Handled: new messages (text, /commands, photos, documents, voice, video...) and inline
    button presses in the seller's private chat. Ignored (None): anything in a group,
    supergroup or channel (see ``outside_private_chat``), edits of sent messages, channel
    posts, membership changes and other update types. ``update`` may be PTB's ``Update`` or
    the JSON dict Telegram sent; ``bot`` is only needed if the caller wants the PTB objects
    bound to it.
    """
    parsed = update if isinstance(update, Update) else Update.de_json(dict(update), bot)
    if outside_private_chat(parsed) is not None:
        return None
    return _seller_message(parsed, parsed.to_dict() if isinstance(update, Update) else update)


def _seller_message(update: Update, raw: Mapping[str, Any]) -> SellerMessage | None:
    """The seller's message of ``update``, known to be in a private chat."""
    raw = dict(raw)  # keep exactly what Telegram sent
    event_id = f"{CHANNEL}:{update.update_id}"
    if update.callback_query is not None:
        return _from_callback_query(update.callback_query, event_id, raw)
    if update.message is not None:
        return _from_message(update.message, event_id, raw)
    return None


def outside_private_chat(update: Update) -> OutsidePrivateChat | None:
    """The message or button press of ``update`` if it happened outside a private chat."""
    event_id = f"{CHANNEL}:{update.update_id}"
    query = update.callback_query
    if query is not None:
        # A press without its message (Telegram drops very old ones) is answered in the
        # presser's private chat, as before: it cannot move the seller's address anywhere.
        if query.message is None or query.message.chat.type == Chat.PRIVATE:
            return None
        chat = query.message.chat
        return OutsidePrivateChat(str(chat.id), chat.type, str(query.from_user.id), event_id,
                                  callback_query_id=str(query.id))
    message = update.message
    if message is None or message.chat.type == Chat.PRIVATE:
        return None
    user = message.from_user  # None for an anonymous group admin
    return OutsidePrivateChat(str(message.chat.id), message.chat.type,
                              None if user is None else str(user.id), event_id)


def chat_membership_from_update(update: Update | Mapping[str, Any],
                                bot: Bot | None = None) -> ChatMembership | None:
    """A seller blocked ("kicked") or unblocked ("member") the bot in their private chat, from
    a ``my_chat_member`` update; None for anything else (groups included)."""
    if not isinstance(update, Update):
        if "my_chat_member" not in update:
            return None  # most updates: no need to parse them twice
        update = Update.de_json(dict(update), bot)
    changed = update.my_chat_member
    if changed is None or changed.chat.type != changed.chat.PRIVATE:
        return None
    status = changed.new_chat_member.status
    if status not in (ChatMember.BANNED, ChatMember.MEMBER):
        return None
    return ChatMembership(channel=CHANNEL, user_id=str(changed.from_user.id),
                          chat_id=str(changed.chat.id), reachable=status == ChatMember.MEMBER,
                          event_id=f"{CHANNEL}:{update.update_id}")


def callback_query_id(message: SellerMessage) -> str | None:
    """The id to pass to ``answerCallbackQuery`` if ``message`` is a button press."""
    query = message.raw.get("callback_query")
    return str(query["id"]) if isinstance(query, Mapping) and "id" in query else None


def _from_callback_query(query: CallbackQuery, event_id: str,
                         raw: Mapping[str, Any]) -> SellerMessage | None:
    message = query.message
    # Without the message we cannot know the chat; Telegram drops it only for very old ones.
    chat_id = str(message.chat.id) if message is not None else str(query.from_user.id)
    return SellerMessage(
        channel=CHANNEL,
        user_id=str(query.from_user.id),
        chat_id=chat_id,
        display_name=_display_name(query.from_user),
        button=query.data or "",
        platform_message_id=str(message.message_id) if message is not None else None,
        event_id=event_id,
        raw=raw,
        language_code=_language_code(query.from_user),
    )


def _language_code(user: User) -> str | None:
    """The user's interface language tag, if the update carries a plausible one."""
    code = user.language_code
    return code[:35] if isinstance(code, str) and code.strip() else None


def _from_message(message: Message, event_id: str,
                  raw: Mapping[str, Any]) -> SellerMessage | None:
    user = message.from_user
    if user is None or user.is_bot:
        return None
    text = message.text or message.caption or ""
    command, command_args = None, ""
    match = _COMMAND.match(message.text or "")
    if match:
        command = match["name"].lower()
        command_args = (match["args"] or "").strip()
    reply_to = message.reply_to_message
    return SellerMessage(
        channel=CHANNEL,
        user_id=str(user.id),
        chat_id=str(message.chat.id),
        display_name=_display_name(user),
        text=text,
        command=command,
        command_args=command_args,
        attachments=attachments_of(message),
        platform_message_id=str(message.message_id),
        reply_to_message_id=str(reply_to.message_id) if reply_to is not None else None,
        event_id=event_id,
        raw=raw,
        language_code=_language_code(user),
    )


def attachments_of(message: Message) -> tuple[Attachment, ...]:
    """Metadata of the files in a message; the bytes stay on Telegram (fetch by ``file_id``)."""
    found: list[Attachment] = []

    def add(kind: str, file_id: str, name: str | None, mime: str | None,
            size: int | None) -> None:
        found.append(Attachment(kind, file_id, name, mime, size, source=CHANNEL))

    if message.photo:
        # Telegram sends every resolution; the last one is the largest.
        photo = message.photo[-1]
        add("photo", photo.file_id, None, "image/jpeg", photo.file_size)
    if message.video:
        video = message.video
        add("video", video.file_id, video.file_name, video.mime_type, video.file_size)
    if message.video_note:
        note = message.video_note
        add("video", note.file_id, None, "video/mp4", note.file_size)
    if message.voice:
        voice = message.voice
        add("voice", voice.file_id, None, voice.mime_type, voice.file_size)
    if message.audio:
        audio = message.audio
        add("file", audio.file_id, audio.file_name, audio.mime_type, audio.file_size)
    if message.document:
        # Animations (GIFs) also arrive as a document: this one entry covers both.
        doc = message.document
        add("document", doc.file_id, doc.file_name, doc.mime_type, doc.file_size)
    return tuple(found)


def _display_name(user: User) -> str:
    return user.full_name or (f"@{user.username}" if user.username else str(user.id))


# Outbound -----------------------------------------------------------------------------------
def inline_keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """The reply's buttons as an inline keyboard (one per row: labels stay readable on phones).

    Raises CallbackDataTooLong if a payload exceeds 64 bytes: Telegram would refuse the whole
    message, so it is better to fail loudly at the source.
    """
    if not reply.buttons:
        return None
    rows = []
    for button in reply.buttons:
        if len(button.payload.encode()) > MAX_CALLBACK_DATA_BYTES:
            raise CallbackDataTooLong(
                f"button payload {button.payload!r} is over {MAX_CALLBACK_DATA_BYTES} bytes")
        rows.append([InlineKeyboardButton(button.label, callback_data=button.payload)])
    return InlineKeyboardMarkup(rows)


def send_message_kwargs(reply: Reply, chat_id: int | str) -> dict[str, Any]:
    """Keyword arguments for ``Bot.send_message`` delivering ``reply`` to ``chat_id``.

    Text is sent as plain text (no parse mode), so seller-visible texts need no escaping; a
    text over Telegram's 4096 characters is cut with an ellipsis rather than refused.
    """
    kwargs: dict[str, Any] = {"chat_id": chat_id, "text": _fit(reply.text)}
    markup = inline_keyboard(reply)
    if markup is not None:
        kwargs["reply_markup"] = markup
    return kwargs


def edit_message_kwargs(chat_id: int | str, message_id: int | str, text: str) -> dict[str, Any]:
    """Keyword arguments for ``Bot.edit_message_text`` (an edit drops any inline keyboard)."""
    return {"chat_id": chat_id, "message_id": int(message_id), "text": _fit(text)}


def _fit(text: str) -> str:
    text = text if text.strip() else "…"  # Telegram refuses empty texts
    return text if len(text) <= MAX_TEXT_CHARS else text[: MAX_TEXT_CHARS - 1] + "…"
