"""What one message costs in SQL: the engine's own statements per turn stay few.

A turn's first transaction claims the event and reads identity, seller and dialogue in one
query; its last unit reads the dialogue again with a row lock (another process's turn may
have saved it meanwhile: bot.engine), writes it in one upsert (nothing when it did not
change), queues the replies and marks the event done. Counted with a ``before_cursor_execute``
listener.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from bot.cases import CaseService
from storage.database import Database
from storage.uow import SqlUnitOfWorkFactory
from tests.unit import chat_harness
from tests.unit.chat_harness import Chat

chat = chat_harness.chat
engine = chat_harness.engine
guest = chat_harness.guest


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    sent: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        word = statement.split(None, 1)[0].upper()
        if word not in ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"):
            sent.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def _kinds(sent: list[str]) -> list[str]:
    return [" ".join(s.split()[:3]) for s in sent]


async def test_a_small_talk_turn_is_six_statements(chat: Chat, db: Database) -> None:
    # The seller's first turn also stores their language (one UPDATE, once): count a later one.
    await chat.say("hi there")
    with statements(db) as sent:
        await chat.say("hello")
    # PostgreSQL: the reply's insert also NOTIFYs the other processes' dispatchers.
    queue = "WITH queued AS" if db.dialect == "postgresql" else "INSERT INTO outbox"
    assert _kinds(sent) == [
        "INSERT INTO processed_events",  # the claim (a lease)
        "SELECT identities.id, identities.channel,",  # identity + seller + dialogue, joined
        "SELECT dialogue_states.state FROM",  # still the state the turn started from?
        "INSERT INTO dialogue_states",  # the upsert (here: the first state)
        queue,  # the reply
        "UPDATE processed_events SET",  # the event is done, with the reply
    ], sent
    if db.dialect == "postgresql":
        assert "pg_notify" in sent[-2], sent


async def test_an_unchanged_dialogue_is_not_written(chat: Chat, db: Database) -> None:
    await chat.say("thanks")
    with statements(db) as sent:
        await chat.say("thanks")
    assert not any(s.startswith("INSERT INTO dialogue_states") for s in sent), sent


async def test_a_follow_up_reads_its_case_once_and_not_the_seller(chat: Chat, db: Database,
                                               service: CaseService) -> None:
    await chat.say("my order 123-1234567-1234567 never arrived, the buyer is waiting")
    await chat.press("Open the case")
    with statements(db) as sent:
        await chat.say("I also attached the tracking page from the carrier for you")
    case_reads = [s for s in sent if s.startswith("SELECT cases.")]
    assert len(case_reads) == 1, sent
    # The seller is known from the turn's first read: not read again.
    assert not any(s.startswith("SELECT sellers.") for s in sent), sent
    assert service.get_case("CX-000001").messages[-1].text.startswith("I also attached")


async def test_registration_queues_the_reply_with_the_current_identity(
        guest: Chat, service: CaseService, uow_factory: SqlUnitOfWorkFactory) -> None:
    inv = service.create_invitation("Guest Shop")
    await guest.command("start", inv.code)
    guest.expect("Guest Shop")
    assert guest.outbox()[-1].text == guest.replies[-1].text
    with uow_factory() as uow:
        ident = uow.identities.find(guest.channel, guest.user)
        assert ident is not None and ident.seller_id is not None
