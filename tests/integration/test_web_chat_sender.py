"""The web chat's outbox sender on SQLite: each item becomes one line however often it is
delivered (a retry after a lost record), files point at the case's portal page, edits name the
line they change, a kind the chat lacks is refused for good, and the streams are woken."""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.web.chat_sender import ChatHub, WebChatSender
from bot.outbox import SELLER_EDIT, SELLER_FILE, SELLER_MESSAGE, OutboundItem
from storage.database import Database
from storage.web_chat_store import SqlWebChatStore

ADDRESS = "seller-7"


def now() -> datetime:
    return datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


async def test_lines_are_stored_once_per_item_and_wake_the_streams(sqlite_db: Database) -> None:
    store = SqlWebChatStore(sqlite_db)
    hub = ChatHub()
    sender = WebChatSender(store, hub, now)
    woken = hub.subscribe(ADDRESS)
    message = OutboundItem(1, "web", SELLER_MESSAGE, {
        "address": ADDRESS, "reply": {"text": "Hello", "buttons": [
            {"label": "My cases", "payload": "cases"}], "case_number": None},
        "case_message_id": None})
    first = await sender.deliver(message)
    again = await sender.deliver(message)
    assert first.ok and again.ok and first.platform_message_id == again.platform_message_id
    assert woken.is_set()
    [line] = store.last_lines(ADDRESS, 10)
    assert line.payload["buttons"] == [{"label": "My cases", "payload": "cases"}]

    edit = OutboundItem(2, "web", SELLER_EDIT, {"address": ADDRESS, "text": "Hello again",
                                                 "platform_message_id": first.platform_message_id})
    file = OutboundItem(3, "web", SELLER_FILE, {
        "address": ADDRESS, "attachment": {"kind": "document", "file_id": "F1",
                                           "file_name": "label.pdf"},
        "caption": "From CX-000001", "case_number": "CX-000001", "case_message_id": 5})
    assert (await sender.deliver(edit)).ok and (await sender.deliver(file)).ok
    lines = store.lines_after(ADDRESS, line.id, 10)
    assert [x.payload["kind"] for x in lines] == ["edit", "file"]
    assert lines[0].payload["edits"] == line.id
    assert lines[1].payload["case_url"] == "/portal/cases/CX-000001"
    assert lines[1].case_message_id == 5
    assert store.lines_after("seller-8", 0, 10) == []

    odd = await sender.deliver(OutboundItem(4, "web", "seller.sticker", {"address": ADDRESS}))
    assert not odd.ok and odd.permanent
    hub.unsubscribe(ADDRESS, woken)
    assert hub.listeners(ADDRESS) == 0
