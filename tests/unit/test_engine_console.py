"""The console channel: typed lines in, outbox deliveries printed, buttons by number, files by
/attach, and an agent's reply from the CLI showing up in the chat (and only in its own)."""

from __future__ import annotations

import io
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from adapters.console import (
    ConsoleSender,
    NotSent,
    format_reply,
    run_console,
    to_message,
)
from bot import outbox as ob
from bot.cases import CaseService
from bot.clock import ManualClock
from bot.delivery_outcomes import DeliveryOutcomes
from bot.dispatcher import OutboxDispatcher
from bot.engine import Engine
from bot.messages import Button, Reply, SellerMessage
from bot.relay import Relay
from bot.texts import t
from storage.console_queries import ChatOutboxQueue, mark_reply_read
from storage.database import Database
from storage.models import OutboxRow
from storage.uow import SqlUnitOfWorkFactory
from tests.unit.chat_harness import make_engine

ORDER = "123-1234567-1234567"
OPENED = f"my order {ORDER} never arrived, the buyer is waiting since Monday"


def test_format_and_parse(tmp_path: Path) -> None:
    reply = Reply("Open it?", (Button("Open the case", "ok"), Button("Cancel", "cancel")))
    assert format_reply(reply) == "Open it?\n   [1] Open the case   [2] Cancel"
    buttons = list(reply.buttons)
    assert to_message("2", "u", buttons).button == "cancel"  # type: ignore[union-attr]
    assert to_message("7", "u", buttons).text == "7"  # type: ignore[union-attr]
    msg = to_message("/case cx-1", "u", buttons)
    assert msg is not None and msg.command == "case" and msg.command_args == "cx-1"
    assert to_message("   ", "u", buttons) is None
    shot = tmp_path / "my shot.png"
    shot.write_bytes(b"\x89PNG....")
    att = to_message(f"/attach '{shot}' the label", "u", [])
    assert att is not None and att.text == "the label"
    (file,) = att.attachments
    assert (file.file_name, file.kind, file.mime_type, file.size, file.source) == (
        "my shot.png", "photo", "image/png", 8, "console")
    assert file.file_id == str(shot.resolve())


@pytest.mark.parametrize(("line", "answer"), [
    ("/attach", t("console.attach_usage")),
    ("/attach 'unclosed", t("console.attach_usage")),
    ("/attach /no/such/invoice.pdf", t("console.attach_missing", path="/no/such/invoice.pdf")),
    ("/attach /tmp", t("console.attach_not_a_file", path="/tmp")),
])
def test_a_bad_attach_is_answered_by_the_console(line: str, answer: str) -> None:
    with pytest.raises(NotSent) as refused:
        to_message(line, "u", [])
    assert refused.value.answer == answer


class Script:
    """Feeds lines to the console loop. An item may be a callable run just before the next
    line is read (the "other terminal"), or ``WaitFor`` (the seller reads before typing)."""

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


class WaitFor:
    """Wait (in the reading thread) until the terminal shows ``text``: what arrives live is
    printed by the loop's poll meanwhile."""

    def __init__(self, out: io.StringIO, text: str, timeout: float = 10.0) -> None:
        self.out, self.text, self.timeout = out, text, timeout

    def __call__(self) -> None:
        deadline = time.monotonic() + self.timeout
        while self.text not in self.out.getvalue():
            assert time.monotonic() < deadline, f"never shown: {self.text!r}\n{self.out.getvalue()}"
            time.sleep(0.02)


class Terminal:
    """One seller's `frontdoor chat`, wired as chat_cli wires it: a queue that claims only
    this chat's items, and agent replies printed here count as read."""

    def __init__(self, db: Database, engine: Engine, relay: Relay, clock: ManualClock,
                 user: str, mark_read: bool = True) -> None:
        self.out = io.StringIO()
        self.engine, self.user = engine, user
        on_shown: Callable[[int], None] | None = (
            (lambda message_id: mark_reply_read(db, message_id, clock.now()) and None)
            if mark_read else None)
        self.sender = ConsoleSender(out=self.out, address=user, on_reply_shown=on_shown)
        self.dispatcher = OutboxDispatcher(ChatOutboxQueue(db, user), [self.sender], clock,
                                           DeliveryOutcomes(SqlUnitOfWorkFactory(db), relay))

    async def run(self, *lines: object, first_lines: tuple[str, ...] = ()) -> str:
        await run_console(self.engine, self.dispatcher.run_once, self.sender, self.user,
                          "Tess", read_line=Script(*lines), poll_seconds=0.05,
                          first_lines=first_lines)
        return self.out.getvalue()

    def shows(self, text: str) -> WaitFor:
        return WaitFor(self.out, text)


@pytest.fixture
def engine(service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
           clock: ManualClock) -> Engine:
    return make_engine(service, uow_factory, relay, clock)


async def test_console_chat_end_to_end(db: Database, service: CaseService, engine: Engine,
                                       relay: Relay, clock: ManualClock) -> None:
    service.create_invitation("Console Shop", code="SHOP-2026")
    term = Terminal(db, engine, relay, clock, "term1")
    agent_done = threading.Event()

    def agent_answers() -> None:  # `frontdoor case reply CX-000001 "..."` elsewhere
        service.agent_reply("CX-000001", "agent7", "We found your parcel, it arrives tomorrow.")
        agent_done.set()

    text = await term.run("SHOP-2026", OPENED, "1", agent_answers,
                          term.shows("We found your parcel"), "/cases", "/quit")
    assert "You're registered as Console Shop" in text
    assert "[1] Open the case   [2] Cancel" in text
    assert "Opened CX-000001" in text
    assert agent_done.is_set()
    assert "CX-000001: We found your parcel, it arrives tomorrow." in text
    # The seller watched the reply arrive: it is not counted as new in their list.
    listing = text[text.rindex("Your active cases"):]
    assert "CX-000001" in listing and "new)" not in listing
    seller_id = service.get_case("CX-000001").case.seller_id
    assert service.list_cases(seller_id)[0].unread == 0


async def test_a_reply_nobody_saw_still_counts_as_new(db: Database, service: CaseService,
                                                      engine: Engine, relay: Relay,
                                                      clock: ManualClock) -> None:
    """The control: the same reply, printed by a terminal that does not report what it
    showed, is still unread; and one that arrives while nobody chats is unread until the
    seller's next chat prints it."""
    service.create_invitation("Console Shop", code="SHOP-2026")
    await Terminal(db, engine, relay, clock, "term1").run("SHOP-2026", OPENED, "1", "/quit")
    service.agent_reply("CX-000001", "agent7", "Which carrier did you use?")
    seller_id = service.get_case("CX-000001").case.seller_id
    assert service.list_cases(seller_id)[0].unread == 1  # nobody has seen it yet

    unreported = Terminal(db, engine, relay, clock, "term1", mark_read=False)
    text = await unreported.run("/quit")
    assert "Which carrier did you use?" in text
    assert service.list_cases(seller_id)[0].unread == 1

    service.agent_reply("CX-000001", "agent7", "And the tracking number, please.")
    text = await Terminal(db, engine, relay, clock, "term1").run("/quit")
    assert "And the tracking number, please." in text
    assert service.list_cases(seller_id)[0].unread == 1  # the first one was never reported


async def test_numbered_choices_stay_until_the_bot_asks_something_new(
        db: Database, service: CaseService, engine: Engine, relay: Relay,
        clock: ManualClock) -> None:
    service.create_invitation("Console Shop", code="SHOP-2026")
    term = Terminal(db, engine, relay, clock, "term1")

    def agent_resolves() -> None:
        service.change_status("CX-000001", "resolved", "agent", "agent7")

    text = await term.run(
        "SHOP-2026", OPENED, "1",                     # Opened ... [1] Flag urgent [2] My cases
        "thanks",                                     # an answer without buttons...
        "2",                                          # ...leaves [2] My cases pressable
        agent_resolves, term.shows(t("evaluate.ask", number="CX-000001")),
        "1",                                          # [1] of the rating shown last
        "/quit")
    opened = text[text.index("Opened CX-000001"):]
    assert "[1] Flag urgent" in opened and "[2] My cases" in opened
    after_thanks = text[text.index(t("smalltalk.thank")):]
    assert "Your active cases" in after_thanks  # "2" pressed My cases
    rating = text[text.index(t("evaluate.ask", number="CX-000001")):]
    assert "[1] " in rating
    evaluation = service.get_case("CX-000001").evaluation
    assert evaluation is not None and evaluation.level == "like"
    assert t("eval.thanks_like") in rating


async def test_a_reply_to_another_seller_is_not_printed_here(
        db: Database, service: CaseService, engine: Engine, relay: Relay,
        clock: ManualClock, uow_factory: SqlUnitOfWorkFactory) -> None:
    def seller_on_console(user: str, name: str) -> str:
        invitation = service.create_invitation(name)
        identity, _ = service.identify(ob.CONSOLE, user, user, name)
        seller = service.register(identity.id, invitation.code)
        return service.open_case(seller.id, "shipping", f"{name}: parcel lost",
                                 order_id=ORDER, identity_id=identity.id).case.number

    anns_case = seller_on_console("term-ann", "Ann's Shop")
    bens_case = seller_on_console("term-ben", "Ben's Shop")
    service.agent_reply(bens_case, "agent7", "Ben, we have refunded the buyer.")

    anns = await Terminal(db, engine, relay, clock, "term-ann").run("/cases", "/quit")
    assert "Your active cases" in anns and anns_case in anns  # her own messages, yes
    assert "Ben, we have refunded the buyer." not in anns and bens_case not in anns
    assert "term-ben" not in anns
    with uow_factory() as uow:  # still waiting for Ben's own terminal
        pending = uow.session.scalars(select(OutboxRow.status).where(
            OutboxRow.destination == ob.CONSOLE,
            OutboxRow.ordering_key == "console:chat:term-ben")).all()
    assert pending == ["pending"]

    bens = await Terminal(db, engine, relay, clock, "term-ben").run("/quit")
    assert f"{bens_case}: Ben, we have refunded the buyer." in bens


async def test_a_sender_never_prints_another_users_item() -> None:
    out = io.StringIO()
    sender = ConsoleSender(out=out, address="term-ann")
    item = ob.OutboundItem(1, ob.CONSOLE, ob.SELLER_MESSAGE,
                           {"address": "term-ben", "reply": Reply("for Ben").as_dict()})
    result = await sender.deliver(item)
    assert not result.ok and not result.permanent and out.getvalue() == ""


async def test_attach_sends_a_file_into_the_case(db: Database, service: CaseService,
                                                 engine: Engine, relay: Relay,
                                                 clock: ManualClock, tmp_path: Path) -> None:
    service.create_invitation("Console Shop", code="SHOP-2026")
    invoice = tmp_path / "invoice march.pdf"
    invoice.write_bytes(b"%PDF-1.4 " + b"x" * 991)
    term = Terminal(db, engine, relay, clock, "term1")
    text = await term.run("SHOP-2026", OPENED, "1",
                          f'/attach "{invoice}" the invoice for this order',
                          f"/attach {tmp_path}/nothere.pdf", "/attach", "/quit")
    assert t("followup.added", number="CX-000001") in text
    assert t("console.attach_missing", path=f"{tmp_path}/nothere.pdf") in text
    assert t("console.attach_usage") in text
    messages = service.get_case("CX-000001").messages
    with_files = [m for m in messages if m.attachments]
    assert len(with_files) == 1  # the refused lines sent nothing
    (message,) = with_files
    assert message.text == "the invoice for this order"
    (file,) = message.attachments
    assert file["file_name"] == "invoice march.pdf" and file["size"] == 1000
    assert file["mime_type"] == "application/pdf" and file["file_id"] == str(invoice)


class DatabaseAwayOnce:
    """The engine, except that the first line's turn fails as when the database is away (the
    engine raises then, so that a platform would deliver the message again)."""

    def __init__(self, engine: Engine) -> None:
        self.engine, self.failed = engine, False

    async def handle(self, msg: SellerMessage) -> list[Reply]:
        if not self.failed:
            self.failed = True
            raise ConnectionError("the database is unreachable")
        return await self.engine.handle(msg)


async def test_a_line_the_database_failed_is_said_so_and_the_chat_goes_on(
        db: Database, service: CaseService, engine: Engine, relay: Relay,
        clock: ManualClock) -> None:
    service.create_invitation("Console Shop", code="SHOP-2026")
    term = Terminal(db, engine, relay, clock, "term9")
    term.engine = DatabaseAwayOnce(engine)  # type: ignore[assignment]

    text = await term.run("SHOP-2026", "SHOP-2026")

    assert text.count(t("engine.error")) == 1
    assert "Console Shop" in text.split(t("engine.error"), 1)[1]  # the second try registered
