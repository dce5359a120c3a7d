"""Finding an outbox item's earlier delivery in Slack, so that a send repeated after a crash
is found instead of posted twice.

A process can die (or lose its database) between Slack accepting a message and the outbox
recording it; the item's lease then runs out and another claim hands it over again with
``recovering`` set. Likewise an answer can be lost after Slack posted (a timeout, a cut
connection), and the item is retried. Every ``chat.postMessage`` the sender makes for an item
carries message metadata naming the item (:func:`outbox_metadata`), so before sending such an
item again the sender looks where it would have landed:

* a thread post: ``conversations.replies`` on the thread;
* a channel post, a case parent or a seller's DM: ``conversations.history``, newest first.

Both read ``include_all_metadata``; a bot token needs the history scope of the conversation
(``channels:history``, ``groups:history`` for private channels, ``im:history`` for DMs).

File uploads cannot carry metadata. A seller's file copied into a thread is recognised by
what the thread holds: a file share by this app's bot user, with the same name and size,
below the newest message tagged with an earlier item of the thread. Items of a
thread are delivered strictly in order, so nothing of this app after that message can be
a later item's; only an identical file earlier in the same seller message could be mistaken
for this one (and then the thread already has those bytes).

An agent's file shared into a seller's DM is found the same way in the DM's history, newest
first: the bot's share with the same name and size, newer than the newest message tagged with
an earlier item of the chat (the reply's own words, when it had any) and not older than the
item itself (:data:`CLOCK_SKEW` allowed between our clock and Slack's). The second bound
matters in a DM: a reply of files alone posts no tagged message, so without it the same file
sent again later would be taken for the earlier copy, and the seller would not get it.

The reads are bounded (:data:`THREAD_MAX_PAGES`, :data:`HISTORY_MAX_PAGES` pages of
:data:`PAGE_SIZE`): a message beyond them is taken as not there, and sent again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.outbox import DeliveryResult

#: ``event_type`` of the metadata on the app's messages (letters, digits, "_" and "-" only).
OUTBOX_EVENT_TYPE = "frontdoor_outbox"
#: Messages per page read (Slack recommends at most 200).
PAGE_SIZE = 200
#: Pages of a thread read, oldest first: support threads are far shorter.
THREAD_MAX_PAGES = 10
#: Pages of a channel's or DM's history read, newest first. Agents answer in threads, so the
#: top level of a support channel only grows by case parents and the app's own posts.
HISTORY_MAX_PAGES = 3
#: How far Slack's clock may lag ours: a DM share this much older than its item still counts.
CLOCK_SKEW = timedelta(minutes=1)


def outbox_metadata(item_id: int) -> dict[str, Any]:
    """The ``metadata`` argument of ``chat.postMessage`` for a message of outbox item
    ``item_id``."""
    return {"event_type": OUTBOX_EVENT_TYPE, "event_payload": {"outbox_item": item_id}}


def tagged_item(message: Mapping[str, Any]) -> int | None:
    """The outbox item a message was posted for, from its metadata (None: not one of ours)."""
    metadata = message.get("metadata")
    if not isinstance(metadata, Mapping) or metadata.get("event_type") != OUTBOX_EVENT_TYPE:
        return None
    payload = metadata.get("event_payload")
    value = payload.get("outbox_item") if isinstance(payload, Mapping) else None
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class EarlierDeliveries:
    """Looks up an item's earlier delivery. Web API errors are raised (``SlackApiError``,
    network errors): the sender decides between retrying and sending."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._bot_user_id: str | None = None

    async def message(self, item_id: int, channel: str,
                      thread_ts: str | None) -> DeliveryResult | None:
        """The message posted for ``item_id`` in ``channel`` (in the thread of ``thread_ts``,
        if given), reported as its delivery; None when it is not there."""
        messages = (self._replies(channel, thread_ts) if thread_ts
                    else self._history(channel))
        async for message in messages:
            if tagged_item(message) == item_id:
                return _delivered(str(message["ts"]), channel)
        return None

    async def file(self, item_id: int, channel: str, thread_ts: str, name: str,
                   size: int | None) -> DeliveryResult | None:
        """The copy of a seller's file made for ``item_id`` in a thread (or the note posted
        for it instead), reported as its delivery; None when neither is there."""
        bot_user = await self.bot_user_id()
        candidate: DeliveryResult | None = None
        async for message in self._replies(channel, thread_ts):
            tag = tagged_item(message)
            if tag == item_id:
                return _delivered(str(message["ts"]), channel)  # a "not copied" note
            if tag is not None and tag < item_id:
                candidate = None  # shares above an earlier item's message are not this one's
            elif tag is None and candidate is None and message.get("user") == bot_user:
                shared = _matching_file(message, name, size)
                if shared is not None:
                    candidate = _delivered(shared, channel)
        return candidate

    async def dm_file(self, item_id: int, channel: str, name: str, size: int | None,
                      queued_at: datetime | None) -> DeliveryResult | None:
        """The share of an agent's file made for ``item_id`` in a seller's DM (its file id),
        reported as its delivery; None when it is not there."""
        bot_user = await self.bot_user_id()
        oldest = (f"{(queued_at - CLOCK_SKEW).timestamp():.6f}"
                  if queued_at is not None else None)
        async for message in self._history(channel, oldest):
            tag = tagged_item(message)
            if tag is not None and tag < item_id:
                return None  # nothing below an earlier item's message is this one's
            if tag is None and message.get("user") == bot_user:
                shared = _matching_file(message, name, size)
                if shared is not None:
                    return _delivered(shared, channel)
        return None

    async def bot_user_id(self) -> str:
        """This app's bot user (who a file share by the app shows as), asked once."""
        if self._bot_user_id is None:
            response = await self.client.auth_test()
            self._bot_user_id = str(response["user_id"])
        return self._bot_user_id

    async def _replies(self, channel: str, thread_ts: str) -> AsyncIterator[dict[str, Any]]:
        # Oldest first, the parent included.
        cursor: str | None = None
        for _ in range(THREAD_MAX_PAGES):
            response = await self.client.conversations_replies(
                channel=channel, ts=thread_ts, include_all_metadata=True, limit=PAGE_SIZE,
                cursor=cursor)
            for message in response.get("messages") or ():
                yield message
            cursor = _next_cursor(response.data)
            if not cursor:
                return

    async def _history(self, channel: str,
                       oldest: str | None = None) -> AsyncIterator[dict[str, Any]]:
        # Newest first: a repeated send follows its first attempt closely. ``oldest``: none
        # older than this ts.
        cursor: str | None = None
        for _ in range(HISTORY_MAX_PAGES):
            response = await self.client.conversations_history(
                channel=channel, include_all_metadata=True, limit=PAGE_SIZE, cursor=cursor,
                oldest=oldest)
            for message in response.get("messages") or ():
                yield message
            cursor = _next_cursor(response.data)
            if not cursor:
                return


def _delivered(platform_message_id: str, channel: str) -> DeliveryResult:
    return DeliveryResult(ok=True, platform_message_id=platform_message_id,
                          platform_chat_id=channel, extra={"found_earlier_delivery": True})


def _matching_file(message: Mapping[str, Any], name: str, size: int | None) -> str | None:
    for shared in message.get("files") or ():
        if not isinstance(shared, Mapping) or shared.get("name") != name:
            continue
        if size is not None and shared.get("size") not in (None, size):  # None: not said
            continue
        if shared.get("id"):
            return str(shared["id"])
    return None


def _next_cursor(data: Any) -> str | None:
    if not isinstance(data, Mapping) or not data.get("has_more", True):
        return None
    metadata = data.get("response_metadata")
    cursor = metadata.get("next_cursor") if isinstance(metadata, Mapping) else None
    return str(cursor) if cursor else None
