"""The console channel: a seller's chat in a terminal, against the real engine.

Replies reach the terminal the same way they reach Telegram: through the outbox, delivered by
`ConsoleSender` (destination ``console``). So an agent's answer typed in another terminal
(``frontdoor case reply CX-000001 "..."``) shows up here as soon as the outbox is polled.

Buttons are printed as numbered choices; typing the number presses the button. The numbers
belong to the latest question: the buttons of the messages that arrive together (one answer
of the bot, or one message delivered while the seller types) are numbered on from each other,
and they stay valid until a later message brings buttons of its own, which are numbered from 1
again. So a number always means the choice shown last with it.

``/attach PATH [caption]`` sends a file from this computer, as a photo or a file is sent on
Telegram; the console checks the path before the engine sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import mimetypes
import os
import shlex
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TextIO

from adapters.files import FileFetchFailed, FileUnavailable, UrlFileSource
from bot.messages import Attachment, Button, Reply, SellerMessage
from bot.outbox import (
    CONSOLE,
    SELLER_EDIT,
    SELLER_FILE,
    SELLER_MESSAGE,
    DeliveryResult,
    OutboundItem,
)
from bot.texts import t

log = logging.getLogger(__name__)

QUIT_WORDS = frozenset({"/quit", "/exit", ":q"})
ATTACH = "/attach"

#: Seconds before an item meant for another console user is offered again (it should not
#: reach this sender at all: the console's queue claims only its own chat's items).
_NOT_MINE_RETRY = 60.0


class NotSent(Exception):
    """A typed line the console answers itself, without the engine (a bad ``/attach``)."""

    def __init__(self, answer: str) -> None:
        super().__init__(answer)
        self.answer = answer


def format_reply(reply: Reply, first_number: int = 1) -> str:
    """The reply's text, then its buttons as ``[1] Label``."""
    lines = [reply.text]
    if reply.buttons:
        lines.append("   " + "   ".join(f"[{i}] {b.label}"
                                        for i, b in enumerate(reply.buttons, first_number)))
    return "\n".join(lines)


class ConsoleSender:
    """Prints the seller-bound outbox items of one console user.

    ``address``: this terminal's user. An item for another user is not printed (nor counted
    as delivered). ``buttons``: the choices shown last, in the order of their numbers.
    ``on_reply_shown``: called (in a worker thread) with the case message id of each agent
    reply printed, so replies the seller saw arrive do not count as unread.
    """

    destination = CONSOLE

    def __init__(self, out: TextIO | None = None, address: str | None = None,
                 prompt: str = "",
                 on_reply_shown: Callable[[int], None] | None = None,
                 agent_files: UrlFileSource | None = None,
                 downloads: Path = Path("downloads")) -> None:
        self.out = out or sys.stdout
        # Agents' files (SELLER_FILE) are fetched from there and saved under ``downloads``.
        self.agent_files = agent_files
        self.downloads = downloads
        self.address = address
        self.prompt = prompt
        self.on_reply_shown = on_reply_shown
        self.buttons: list[Button] = []
        self.delivered = 0
        self.waiting_for_input = False
        self._new_batch = True

    def begin_batch(self) -> None:
        """Messages delivered from now on arrive together: the first of them with buttons
        replaces the choices, the others' buttons are numbered on from it."""
        self._new_batch = True

    async def deliver(self, item: OutboundItem) -> DeliveryResult:
        payload = item.payload
        address = str(payload.get("address", ""))
        if self.address is not None and address != self.address:
            # Someone else's chat: leave it for their terminal.
            return DeliveryResult(ok=False, retry_after=_NOT_MINE_RETRY,
                                  error=f"for console user {address}, not {self.address}")
        if item.kind == SELLER_MESSAGE:
            reply = Reply.from_dict(payload.get("reply") or {})
            text = format_reply(reply, self._number_from(reply))
        elif item.kind == SELLER_EDIT:
            text = t("console.edited", text=payload.get("text", ""))
        elif item.kind == SELLER_FILE:
            saved = await self._save_file(payload)
            if isinstance(saved, DeliveryResult):
                return saved
            text = t("console.file_saved", caption=payload.get("caption") or "", path=saved)
        else:
            return DeliveryResult(ok=False, permanent=True, error=f"unknown kind {item.kind}")
        # An agent's answer may arrive while the user is typing: start on a fresh line.
        lead = "\n" if self.waiting_for_input else ""
        self.out.write(f"{lead}bot> {text}\n")
        if self.waiting_for_input and self.prompt:
            self.out.write(self.prompt)
        self.out.flush()
        self.delivered += 1
        shown = payload.get("case_message_id")
        if item.kind == SELLER_MESSAGE and isinstance(shown, int) and self.on_reply_shown:
            try:
                await asyncio.to_thread(self.on_reply_shown, shown)
            except Exception:  # the reply is shown; an unread mark left behind is harmless
                log.warning("could not mark case message %s as read", shown, exc_info=True)
        return DeliveryResult(ok=True, platform_message_id=f"console-{item.id}",
                              platform_chat_id=address)

    async def _save_file(self, payload: dict[str, Any]) -> Path | DeliveryResult:
        """Download an agent's file into ``downloads``; its path, or why it failed."""
        attachment = Attachment.from_dict(payload.get("attachment") or {})
        if self.agent_files is None or not attachment.url:
            return DeliveryResult(ok=False, permanent=True,
                                  error="this console cannot fetch the agents' files")
        try:
            fetched = await self.agent_files.fetch_url(attachment.url)
        except FileUnavailable as exc:
            return DeliveryResult(ok=False, permanent=True, error=str(exc))
        except FileFetchFailed as exc:
            return DeliveryResult(ok=False, retry_after=exc.retry_after, error=str(exc))
        # Only the file's own name, never a path the event chose.
        name = Path(attachment.file_name or fetched.name or attachment.file_id).name or "file"
        self.downloads.mkdir(parents=True, exist_ok=True)
        path = self.downloads / name
        n = 1
        while path.exists():
            path = self.downloads / f"{Path(name).stem}-{n}{Path(name).suffix}"
            n += 1
        path.write_bytes(fetched.content)
        return path.resolve()

    def _number_from(self, reply: Reply) -> int:
        """The number of the reply's first button; its buttons become (part of) the choices."""
        if not reply.buttons:
            return 1
        if self._new_batch:
            self.buttons = []
            self._new_batch = False
        start = len(self.buttons) + 1
        self.buttons.extend(reply.buttons)
        return start


def attachment_from(path_text: str) -> Attachment:
    """A file on this computer as an engine attachment; NotSent if it cannot be sent."""
    path = Path(path_text).expanduser()
    if not path.exists():
        raise NotSent(t("console.attach_missing", path=path_text))
    if not path.is_file():
        raise NotSent(t("console.attach_not_a_file", path=path_text))
    if not os.access(path, os.R_OK):
        raise NotSent(t("console.attach_unreadable", path=path_text))
    path = path.resolve()
    mime, _ = mimetypes.guess_type(path.name)
    kind = "photo" if mime and mime.startswith("image/") else "document"
    return Attachment(kind, str(path), path.name, mime, path.stat().st_size, source=CONSOLE)


def _attach(rest: str) -> tuple[Attachment, str]:
    """``PATH [caption]`` (a path with spaces in quotes): the file and its caption."""
    try:
        parts = shlex.split(rest)
    except ValueError:  # an unclosed quote
        parts = []
    if not parts:
        raise NotSent(t("console.attach_usage"))
    return attachment_from(parts[0]), " ".join(parts[1:])


def to_message(line: str, user_id: str, buttons: list[Button],
               display_name: str | None = None) -> SellerMessage | None:
    """Turn a typed line into an engine message: ``/command args``, a button number,
    ``/attach PATH [caption]``, or plain text. None for an empty line; NotSent for a line
    the console answers itself."""
    text = line.strip()
    if not text:
        return None
    base = {"channel": CONSOLE, "user_id": user_id, "chat_id": user_id,
            "display_name": display_name, "event_id": f"console-{uuid.uuid4().hex}"}
    if text.isdigit() and buttons and 1 <= int(text) <= len(buttons):
        button = buttons[int(text) - 1]
        return SellerMessage(text=button.label, button=button.payload, **base)  # type: ignore[arg-type]
    head, _, rest = text.partition(" ")
    if head.lower() == ATTACH:
        attachment, caption = _attach(rest)
        return SellerMessage(text=caption, attachments=(attachment,),
                             **base)  # type: ignore[arg-type]
    if text.startswith("/"):
        command, _, args = text[1:].partition(" ")
        return SellerMessage(text=text, command=command.lower(), command_args=args.strip(),
                             **base)  # type: ignore[arg-type]
    return SellerMessage(text=text, **base)  # type: ignore[arg-type]


class Handler(Protocol):
    """What the loop needs from the engine (``Engine.handle``)."""

    async def handle(self, msg: SellerMessage) -> list[Reply]: ...


async def run_console(
    engine: Handler, run_outbox: Callable[[], object], sender: ConsoleSender, user_id: str,
    display_name: str | None = None, read_line: Callable[[str], str] = input,
    poll_seconds: float = 1.0, prompt: str = "you> ", first_lines: tuple[str, ...] = (),
) -> None:
    """The interactive loop: read a line, hand it to the engine, print what the outbox
    delivers; meanwhile poll the outbox so agents' replies appear between lines.

    ``run_outbox`` is an async callable delivering due console items (the dispatcher's
    ``run_once``); it is never run twice at once. ``first_lines`` are handled as if typed
    before the first prompt (``frontdoor chat --as`` registers an invited seller so).
    """
    lock = asyncio.Lock()
    stop = asyncio.Event()
    sender.prompt = prompt

    async def drain() -> None:
        async with lock:
            sender.begin_batch()
            result = run_outbox()
            if asyncio.iscoroutine(result):
                await result

    async def poll() -> None:
        while not stop.is_set():
            with contextlib.suppress(Exception):  # a failed poll must not end the chat
                await drain()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), poll_seconds)

    async def say(line: str) -> None:
        try:
            msg = to_message(line, user_id, sender.buttons, display_name)
        except NotSent as refused:
            async with lock:  # not in the middle of a delivery's lines
                sender.out.write(f"bot> {refused.answer}\n")
                sender.out.flush()
            return
        if msg is None:
            return
        try:
            await engine.handle(msg)
        except Exception:
            # The database failed during the turn (it raises instead of apologising, so a
            # platform redelivers): here the seller is the one who sends it again.
            log.warning("a console line was not processed", exc_info=True)
            async with lock:
                sender.out.write(f"bot> {t('engine.error')}\n")
                sender.out.flush()
        await drain()

    poller = asyncio.create_task(poll())
    try:
        await drain()
        for line in first_lines:
            await say(line)
        while True:
            sender.waiting_for_input = True
            try:
                line = await asyncio.to_thread(read_line, prompt)
            except (EOFError, KeyboardInterrupt):
                break
            finally:
                sender.waiting_for_input = False
            if line.strip().lower() in QUIT_WORDS:
                break
            await say(line)
    finally:
        stop.set()
        await poller
