"""A Slack send repeated after a crash is found instead of posted twice.

The real slack_sdk sender against the Slack stand-in: every message posted for an outbox item
carries metadata naming the item; an item handed over again after an earlier claim ran out
unrecorded (``recovering``), or retried, is looked for where it would have landed (thread
replies, channel or DM history, file shares) and reported as delivered there; a lookup that
fails for a while does not post. (Through the dispatcher and the database: test_slack_send_recovery_dispatch.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from telegram import Bot

from adapters.slack.recovery import HISTORY_MAX_PAGES, PAGE_SIZE
from adapters.slack.sender import SlackSender
from adapters.telegram.files import TelegramFileSource, file_base_url
from bot import outbox as ob
from bot.messages import Attachment, Reply
from bot.outbox import OutboundItem, ThreadRef
from tests.standins import RecordedRequest, slack_api
from tests.standins.slack_api import SlackStandIn
from tests.standins.telegram_api import TelegramStandIn

SLACK_TOKEN = "xoxb-test-token"
TELEGRAM_TOKEN = "123:TEST"
SUPPORT = "C0SUPPORT"
SELLER_DM = "D0SELLER01"
PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8
ORDER = "123-1234567-1234567"


def tag(item_id: int) -> dict[str, Any]:
    """The metadata Slack should hold for a message of outbox item ``item_id``."""
    return {"event_type": "frontdoor_outbox", "event_payload": {"outbox_item": item_id}}


def asked_for_metadata(request: RecordedRequest) -> bool:
    return str(request.get("include_all_metadata")).lower() in ("1", "true")


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandIn]:
    async with SlackStandIn() as standin:
        yield standin


@pytest.fixture
async def telegram() -> AsyncIterator[TelegramStandIn]:
    async with TelegramStandIn() as standin:
        yield standin


@pytest.fixture
async def sender(slack: SlackStandIn, telegram: TelegramStandIn) -> AsyncIterator[SlackSender]:
    bot = Bot(TELEGRAM_TOKEN, base_url=telegram.base_url,
              base_file_url=file_base_url(telegram.base_url))
    async with SlackSender.create(SLACK_TOKEN, base_url=slack.base_url,
                                  file_sources={"telegram": TelegramFileSource(bot)}) as sender:
        yield sender
    await bot.shutdown()


@pytest.fixture
def thread(slack: SlackStandIn) -> ThreadRef:
    """A case parent in the support channel, posted directly (not under test)."""
    return ThreadRef(SUPPORT, slack.seed_message(SUPPORT, "CX-000001"))


_ids = iter(range(100, 1_000_000))


def item(kind: str, payload: dict[str, Any], thread: ThreadRef | None = None,
         recovering: bool = False) -> OutboundItem:
    return OutboundItem(id=next(_ids), destination=ob.SLACK, kind=kind, payload=payload,
                        case_id=1, case_number="CX-000001", thread=thread,
                        recovering=recovering)


def thread_post(thread: ThreadRef, text: str = "Where is my parcel?") -> OutboundItem:
    return item(ob.THREAD_POST, {"text": text, "author": "Acme"}, thread)


def case_parent() -> OutboundItem:
    card = {"number": "CX-000001", "title": "Order not delivered", "case_type": "shipping",
            "seller_name": "Acme", "seller_id": 7, "order_id": ORDER, "status": "open",
            "status_label": "In progress", "urgent": False,
            "first_response_due": "2030-01-02T03:04:05+00:00", "reopened_from": None,
            "evaluation": None}
    return item(ob.CASE_PARENT, {"card": card, "channel": SUPPORT})


def channel_post() -> OutboundItem:
    return item(ob.CHANNEL_POST, {"channel": SUPPORT, "text": "Daily digest: 3 cases waiting"})


def seller_message() -> OutboundItem:
    reply = Reply("💬 CX-000001: we are on it", (), case_number="CX-000001")
    return item(ob.SELLER_MESSAGE, {"address": SELLER_DM, "reply": reply.as_dict()})


def file_item(thread: ThreadRef, file_id: str = "AgACphoto") -> OutboundItem:
    photo = Attachment("photo", file_id, None, "image/jpeg", len(PHOTO), source="telegram")
    return item(ob.THREAD_FILE, {"source": "telegram", "attachment": photo.as_dict()}, thread)


MAKERS = {
    "thread_post": thread_post,
    "case_parent": lambda _thread: case_parent(),
    "channel_post": lambda _thread: channel_post(),
    "seller_message": lambda _thread: seller_message(),
}


def recovering(sent: OutboundItem) -> OutboundItem:
    """The same item handed over again after its earlier claim ran out unrecorded."""
    return replace(sent, recovering=True, attempts=sent.attempts + 1)


def posts_of(slack: SlackStandIn, item_id: int) -> list[dict[str, Any]]:
    return [m for messages in slack.messages.values() for m in messages
            if m.get("metadata") == tag(item_id)]


# Tagging -------------------------------------------------------------------------------------
async def test_every_post_for_an_item_carries_its_id_and_a_fresh_item_is_not_looked_up(
        slack: SlackStandIn, thread: ThreadRef) -> None:
    async with SlackSender.create(SLACK_TOKEN, base_url=slack.base_url) as no_files:
        items = [case_parent(), thread_post(thread), channel_post(), seller_message(),
                 file_item(thread)]  # no file source: a "not copied" note is posted instead
        results = [await no_files.deliver(i) for i in items]

    assert all(r.ok for r in results)
    posts = slack.calls("chat.postMessage")
    assert [p["metadata"] for p in posts] == [tag(i.id) for i in items]
    assert "Could not copy" in posts[-1]["text"]
    assert [(p.response["channel"], p.response["ts"]) for p in posts] == [
        (r.platform_chat_id, r.platform_message_id) for r in results]
    looked = [r.method for r in slack.requests if r.method.startswith("conversations.")]
    assert looked == []


async def test_the_standin_gives_metadata_back_only_when_asked(slack: SlackStandIn) -> None:
    client = AsyncWebClient(token=SLACK_TOKEN, base_url=slack.base_url)
    posted = await client.chat_postMessage(channel=SUPPORT, text="parent", metadata=tag(1))
    await client.chat_postMessage(channel=SUPPORT, text="reply", thread_ts=posted["ts"],
                                  metadata=tag(2))

    plain = await client.conversations_history(channel=SUPPORT)
    full = await client.conversations_history(channel=SUPPORT, include_all_metadata=True)
    thread = await client.conversations_replies(channel=SUPPORT, ts=posted["ts"],
                                                include_all_metadata=True)

    assert [m.get("metadata") for m in plain["messages"]] == [None]  # replies not listed
    assert [m["metadata"] for m in full["messages"]] == [tag(1)]
    assert [m["metadata"] for m in thread["messages"]] == [tag(1), tag(2)]
    assert thread["messages"][1]["thread_ts"] == posted["ts"]


# Found instead of posted again -----------------------------------------------------------------
@pytest.mark.parametrize("make", list(MAKERS))
async def test_a_recovering_item_already_delivered_is_reported_where_it_is_not_posted_again(
        make: str, slack: SlackStandIn, sender: SlackSender, thread: ThreadRef) -> None:
    sent = MAKERS[make](thread)
    first = await sender.deliver(sent)
    slack.seed_message(first.platform_chat_id or SUPPORT, "someone else's message after it")
    mark = slack.mark()

    again = await sender.deliver(recovering(sent))

    assert again.ok and not again.permanent
    assert (again.platform_chat_id, again.platform_message_id) == (
        first.platform_chat_id, first.platform_message_id)
    assert len(posts_of(slack, sent.id)) == 1
    assert slack.calls("chat.postMessage")[-1].index < mark  # nothing posted since
    lookup = "conversations.replies" if make == "thread_post" else "conversations.history"
    [asked] = [r for r in slack.requests[mark:] if r.method.startswith("conversations.")]
    assert asked.method == lookup and asked_for_metadata(asked)
    assert asked["channel"] == first.platform_chat_id


@pytest.mark.parametrize("make", list(MAKERS))
async def test_a_recovering_item_that_never_landed_is_posted_once(
        make: str, slack: SlackStandIn, sender: SlackSender, thread: ThreadRef) -> None:
    # Other items' messages where it would land: the id tells them apart.
    neighbour = MAKERS[make](thread)
    assert (await sender.deliver(neighbour)).ok
    lost = MAKERS[make](thread)

    result = await sender.deliver(recovering(lost))

    assert result.ok
    [posted] = posts_of(slack, lost.id)
    assert result.platform_message_id == posted["ts"]
    assert len(posts_of(slack, neighbour.id)) == 1
    assert len(slack.calls("chat.postMessage")) == 2


async def test_a_retry_after_a_lost_answer_finds_the_post_and_a_retry_after_a_refusal_posts(
        slack: SlackStandIn, sender: SlackSender, thread: ThreadRef) -> None:
    # Slack posted, but the answer never came back (timeout, cut connection): retried.
    answered_lost = thread_post(thread, "first")
    first = await sender.deliver(answered_lost)
    retry = await sender.deliver(replace(answered_lost, attempts=1))
    assert retry.ok and retry.platform_message_id == first.platform_message_id
    # Slack said 429 (nothing posted): the retry looks, finds nothing, posts once.
    refused = thread_post(thread, "second")
    slack.fail_next("chat.postMessage", slack_api.rate_limited(1))
    assert not (await sender.deliver(refused)).ok
    assert (await sender.deliver(replace(refused, attempts=1))).ok

    assert [len(posts_of(slack, i.id)) for i in (answered_lost, refused)] == [1, 1]
    assert len(slack.calls("conversations.replies")) == 2  # the two retries looked first


async def test_a_parent_is_found_past_the_first_page_of_a_busy_channel(
        slack: SlackStandIn, sender: SlackSender) -> None:
    parent = case_parent()
    first = await sender.deliver(parent)
    for n in range(PAGE_SIZE + 50):  # top-level chatter after it, newest first in history
        slack.seed_message(SUPPORT, f"announcement {n}")

    again = await sender.deliver(recovering(parent))

    assert again.ok and again.platform_message_id == first.platform_message_id
    pages = slack.calls("conversations.history")
    assert len(pages) == 2 and pages[1]["cursor"]
    assert len(slack.calls("chat.postMessage")) == 1


async def test_history_is_read_no_further_than_its_page_limit(
        slack: SlackStandIn, sender: SlackSender) -> None:
    parent = case_parent()
    await sender.deliver(parent)
    for n in range(PAGE_SIZE * HISTORY_MAX_PAGES):
        slack.seed_message(SUPPORT, f"announcement {n}")

    again = await sender.deliver(recovering(parent))

    # Out of reach: sent again (a duplicate is the price of a bounded read).
    assert again.ok
    assert len(slack.calls("conversations.history")) == HISTORY_MAX_PAGES
    assert len(posts_of(slack, parent.id)) == 2


# When the lookup fails ---------------------------------------------------------------------------
@pytest.mark.parametrize(("fault", "retry_after"), [
    (slack_api.rate_limited(7), 7.0),
    (slack_api.server_error(503), None),
    (slack_api.api_error("internal_error"), None),
])
async def test_a_lookup_that_fails_for_a_while_retries_and_does_not_post(
        fault: Any, retry_after: float | None, slack: SlackStandIn, sender: SlackSender,
        thread: ThreadRef) -> None:
    sent = thread_post(thread)
    first = await sender.deliver(sent)
    slack.fail_next("conversations.replies", fault)

    failed = await sender.deliver(recovering(sent))

    assert not failed.ok and not failed.permanent
    assert failed.retry_after == retry_after
    assert "looking for an earlier delivery" in (failed.error or "")
    assert len(slack.calls("chat.postMessage")) == 1
    # The retry finds it.
    retried = await sender.deliver(recovering(sent))
    assert retried.ok and retried.platform_message_id == first.platform_message_id
    assert len(slack.calls("chat.postMessage")) == 1


async def test_a_lookup_refused_for_good_posts_anyway(
        slack: SlackStandIn, sender: SlackSender, thread: ThreadRef) -> None:
    # E.g. the app lacks channels:history: retrying would never help, and never posting
    # would lose the message; a possible duplicate is the lesser harm.
    lost = thread_post(thread)
    slack.fail_next("conversations.replies", slack_api.api_error("missing_scope"))

    result = await sender.deliver(recovering(lost))

    assert result.ok
    assert len(posts_of(slack, lost.id)) == 1
    assert [r.status for r in slack.calls("conversations.replies")] == [200]


# Files -------------------------------------------------------------------------------------------
async def test_a_recovering_file_already_shared_is_not_uploaded_again(
        slack: SlackStandIn, telegram: TelegramStandIn, sender: SlackSender,
        thread: ThreadRef) -> None:
    telegram.add_file("AgACphoto", PHOTO, "photos/file_1.jpg")
    assert (await sender.deliver(thread_post(thread, "here is the label"))).ok
    copy = file_item(thread)
    first = await sender.deliver(copy)

    again = await sender.deliver(recovering(copy))

    assert again.ok and again.platform_message_id == first.platform_message_id
    assert len(slack.shared_files(SUPPORT, thread.ts)) == 1
    assert len(slack.calls("files.completeUploadExternal")) == 1
    assert [r.method for r in slack.requests if r.method == "auth.test"] == ["auth.test"]


async def test_a_recovering_file_is_uploaded_when_only_an_earlier_message_has_that_file(
        slack: SlackStandIn, telegram: TelegramStandIn, sender: SlackSender,
        thread: ThreadRef) -> None:
    # The seller sends the same photo twice, in two messages; the second copy's process died
    # before uploading it. The first copy sits above the second message's post: not it.
    telegram.add_file("AgACphoto", PHOTO, "photos/file_1.jpg")
    assert (await sender.deliver(thread_post(thread, "the label"))).ok
    assert (await sender.deliver(file_item(thread))).ok
    assert (await sender.deliver(thread_post(thread, "the label again"))).ok
    lost = file_item(thread)

    result = await sender.deliver(recovering(lost))

    assert result.ok
    shares = slack.shared_files(SUPPORT, thread.ts)
    assert len(shares) == 2 and result.platform_message_id == shares[1]["id"]
    assert all(s["content"] == PHOTO for s in shares)


async def test_a_file_share_by_someone_else_is_not_taken_for_the_apps_copy(
        slack: SlackStandIn, telegram: TelegramStandIn, sender: SlackSender,
        thread: ThreadRef) -> None:
    telegram.add_file("AgACphoto", PHOTO, "photos/file_1.jpg")
    assert (await sender.deliver(thread_post(thread, "the label"))).ok
    # An agent shares a file of that name and size in the thread.
    shared = slack.find(SUPPORT, slack.seed_message(SUPPORT, "the label, scanned"))
    assert shared is not None
    del shared["bot_id"]
    shared.update(user="U0AGENT01", thread_ts=thread.ts, files=[
        {"id": "F0AGENT", "name": "photo.jpg", "title": "photo.jpg", "size": len(PHOTO)}])
    lost = file_item(thread)

    result = await sender.deliver(recovering(lost))

    assert result.ok and result.platform_message_id != "F0AGENT"
    assert len(slack.shared_files(SUPPORT, thread.ts)) == 1


async def test_a_note_posted_for_a_file_is_found_too(
        slack: SlackStandIn, telegram: TelegramStandIn, sender: SlackSender,
        thread: ThreadRef) -> None:
    gone = file_item(thread, file_id="AgACgone")  # the Telegram stand-in never heard of it
    first = await sender.deliver(gone)
    assert first.ok and len(posts_of(slack, gone.id)) == 1

    again = await sender.deliver(recovering(gone))

    assert again.ok and again.platform_message_id == first.platform_message_id
    assert len(posts_of(slack, gone.id)) == 1
