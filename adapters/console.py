"""The console channel: a seller's chat in a terminal, against the real engine.

Replies reach the terminal the same way they reach Telegram: through the outbox, delivered by
`ConsoleSender` (destination ``console``). So an agent's answer typed in another terminal
(``frontdoor case reply CX-000001 "..."``) shows up here as soon as the outbox is polled.
Buttons are printed as numbered choices; typing the number presses the button.
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TextIO

from bot.messages import Attachment, Button, Reply, SellerMessage
from bot.outbox import CONSOLE, SELLER_EDIT, SELLER_MESSAGE, DeliveryResult, OutboundItem

QUIT_WORDS = frozenset({"/quit", "/exit", ":q"})


def format_reply(reply: Reply, first_number: int = 1) -> str:
    """The reply's text, then its buttons as ``[1] Label``."""
    lines = [reply.text]
    if reply.buttons:
        lines.append("   " + "   ".join(f"[{i}] {b.label}"
                                        for i, b in enumerate(reply.buttons, first_number)))
    return "\n".join(lines)


class ConsoleSender:
    """Prints seller-bound outbox items for the console channel.

    ``address``: this terminal's user; items for other console users are printed with their
    address so nothing is silently swallowed. The buttons of the latest replies are kept so
    typed numbers can press them.
    """

    destination = CONSOLE

    def __init__(self, out: TextIO | None = None, address: str | None = None,
                 prompt: str = "") -> None:
        self.out = out or sys.stdout
        self.address = address
        self.prompt = prompt
        self.buttons: list[Button] = []
        self.delivered = 0
        self.waiting_for_input = False

    async def deliver(self, item: OutboundItem) -> DeliveryResult:
        payload = item.payload
        address = str(payload.get("address", ""))
        prefix = "" if self.address in (None, address) else f"(to {address}) "
        if item.kind == SELLER_MESSAGE:
            reply = Reply.from_dict(payload.get("reply") or {})
            if prefix == "":
                if reply.buttons:
                    # Numbers continue across the replies of one turn, so each is unique.
                    start = len(self.buttons) + 1
                    self.buttons.extend(reply.buttons)
                else:
                    start = 1
                text = format_reply(reply, start)
            else:
                text = format_reply(reply)
        elif item.kind == SELLER_EDIT:
            text = f"(edited) {payload.get('text', '')}"
        else:
            return DeliveryResult(ok=False, permanent=True, error=f"unknown kind {item.kind}")
        # An agent's answer may arrive while the user is typing: start on a fresh line.
        lead = "\n" if self.waiting_for_input else ""
        self.out.write(f"{lead}{prefix}bot> {text}\n")
        if self.waiting_for_input and self.prompt:
            self.out.write(self.prompt)
        self.out.flush()
        self.delivered += 1
        return DeliveryResult(ok=True, platform_message_id=f"console-{item.id}",
                              platform_chat_id=address)

    def new_turn(self) -> None:
        """The user sent something: the old buttons' numbers no longer apply."""
        self.buttons = []


def to_message(line: str, user_id: str, buttons: list[Button],
               display_name: str | None = None) -> SellerMessage | None:
    """Turn a typed line into an engine message: ``/command args``, a button number,
    ``/attach PATH [caption]``, or plain text. None for an empty line."""
    text = line.strip()
    if not text:
        return None
    base = {"channel": CONSOLE, "user_id": user_id, "chat_id": user_id,
            "display_name": display_name, "event_id": f"console-{uuid.uuid4().hex}"}
    if text.isdigit() and buttons and 1 <= int(text) <= len(buttons):
        button = buttons[int(text) - 1]
        return SellerMessage(text=button.label, button=button.payload, **base)  # type: ignore[arg-type]
    if text.startswith("/attach"):
        parts = shlex.split(text[len("/attach"):]) if text[len("/attach"):].strip() else []
        if parts:
            path = Path(parts[0]).expanduser()
            size = path.stat().st_size if path.is_file() else None
            attachment = Attachment("document", str(path), path.name, None, size)
            return SellerMessage(text=" ".join(parts[1:]), attachments=(attachment,),
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
    poll_seconds: float = 1.0, prompt: str = "you> ",
) -> None:
    """The interactive loop: read a line, hand it to the engine, print what the outbox
    delivers; meanwhile poll the outbox so agents' replies appear between lines.

    ``run_outbox`` is an async callable delivering due console items (the dispatcher's
    ``run_once``); it is never run twice at once.
    """
    lock = asyncio.Lock()
    stop = asyncio.Event()
    sender.prompt = prompt

    async def drain() -> None:
        async with lock:
            result = run_outbox()
            if asyncio.iscoroutine(result):
                await result

    async def poll() -> None:
        while not stop.is_set():
            with contextlib.suppress(Exception):  # a failed poll must not end the chat
                await drain()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), poll_seconds)

    poller = asyncio.create_task(poll())
    try:
        await drain()
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
            msg = to_message(line, user_id, sender.buttons, display_name)
            if msg is None:
                continue
            sender.new_turn()
            await engine.handle(msg)
            await drain()
    finally:
        stop.set()
        await poller
