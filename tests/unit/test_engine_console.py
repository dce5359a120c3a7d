"""The console channel: typed lines in, outbox deliveries printed, buttons by number, and an
agent's reply from the CLI showing up in the chat."""

from __future__ import annotations

import io
import queue
import threading

from adapters.console import ConsoleSender, format_reply, run_console, to_message
from bot.cases import CaseService
from bot.clock import ManualClock
from bot.dispatcher import OutboxDispatcher
from bot.messages import Button, Reply
from bot.relay import Relay
from storage.database import Database
from storage.outbox_queue import SqlOutboxQueue
from storage.uow import SqlUnitOfWorkFactory
from tests.unit.chat_harness import make_engine

ORDER = "123-1234567-1234567"


def test_format_and_parse() -> None:
    reply = Reply("Open it?", (Button("Open the case", "ok"), Button("Cancel", "cancel")))
    assert format_reply(reply) == "Open it?\n   [1] Open the case   [2] Cancel"
    buttons = list(reply.buttons)
    assert to_message("2", "u", buttons).button == "cancel"  # type: ignore[union-attr]
    assert to_message("7", "u", buttons).text == "7"  # type: ignore[union-attr]
    msg = to_message("/case cx-1", "u", buttons)
    assert msg is not None and msg.command == "case" and msg.command_args == "cx-1"
    assert to_message("   ", "u", buttons) is None
    att = to_message("/attach /tmp/x.png the label", "u", [])
    assert att is not None and att.attachments[0].file_name == "x.png" and att.text == "the label"


class Script:
    """Feeds lines to the console loop; a line may be a callable run just before it is read
    (the "other terminal")."""

    def __init__(self, *lines: object) -> None:
        self.lines: queue.Queue[object] = queue.Queue()
        for line in lines:
            self.lines.put(line)

    def __call__(self, prompt: str) -> str:
        while True:
            item = self.lines.get_nowait() if not self.lines.empty() else None
            if item is None:
                raise EOFError
            if callable(item):
                item()
                continue
            return str(item)


async def test_console_chat_end_to_end(db: Database, service: CaseService, uow_factory: SqlUnitOfWorkFactory,
                                       relay: Relay, clock: ManualClock) -> None:
    engine = make_engine(service, uow_factory, relay, clock)
    service.create_invitation("Console Shop", code="SHOP-2026")
    out = io.StringIO()
    sender = ConsoleSender(out=out, address="term1")
    dispatcher = OutboxDispatcher(SqlOutboxQueue(db, relay), [sender], clock)
    agent_done = threading.Event()

    def agent_answers() -> None:  # `frontdoor case reply CX-000001 "..."` elsewhere
        service.agent_reply("CX-000001", "agent7", "We found your parcel, it arrives tomorrow.")
        agent_done.set()

    script = Script("SHOP-2026",
                    f"my order {ORDER} never arrived, the buyer is waiting since Monday",
                    "1", agent_answers, "/cases", "/quit")
    await run_console(engine, dispatcher.run_once, sender, "term1", "Tess", read_line=script,
                      poll_seconds=0.05)
    text = out.getvalue()
    assert "You're registered as Console Shop" in text
    assert "[1] Open the case   [2] Cancel" in text
    assert "Opened CX-000001" in text
    assert agent_done.is_set()
    assert "CX-000001: We found your parcel, it arrives tomorrow." in text
    assert "Updated (1 new)" in text
