"""The Slack outbox sender: case parents, thread posts and reactions for agents, and replies
to sellers who DM the app, delivered with slack_sdk's ``AsyncWebClient``.

Platform failures are reported as ``DeliveryResult``s, never raised (network errors and
transient Web API errors are retried; :mod:`adapters.slack.api_failures` sorts them).

``already_reacted`` counts as delivered (a retried reaction gets it after a lost response);
``chat.update`` sets the same content again: both may simply be repeated.

Every message posted for an item carries metadata naming the item. An item that may already
be in Slack is first looked for where it would have landed (:mod:`adapters.slack.recovery`):
found, it is reported as delivered there, not posted again. That is an item handed over again
after an earlier claim ran out unrecorded (``recovering``: the process died mid-send), and any
retry (``tried_before``, an operator's requeue of a dead letter too): a timeout, a cut
connection or a 5xx may come after Slack posted.
When that lookup fails for a reason that may pass (rate limit, 5xx, network), the item is
retried rather than posted: a retry only delays it, a post may show agents or a seller the
same message twice. When it fails for good (e.g. a missing ``*:history`` scope),
the item is posted anyway: at-least-once must not turn into never.

THREAD_FILE copies a seller's file into the case's thread: the bytes come from the file's
source channel (a ``FileSource``, e.g. Telegram), and go up with ``files_upload_v2``. A file
that cannot be fetched or that Slack refuses for good gets a note in the thread instead
(delivered: retrying would not help); fetch or upload trouble that may pass is retried.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from types import TracebackType
from typing import Any, Self

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.files import FileFetchFailed, FileSources, FileUnavailable, UrlFileSource
from adapters.slack.action_blocks import action_blocks
from adapters.slack.api_failures import api_failure, error_code
from adapters.slack.cards import (
    escape,
    file_not_copied_text,
    render_case_card,
    render_moved_card,
    reply_blocks,
    text_blocks,
    thread_post_text,
    upload_filename,
)
from adapters.slack.dm_files import dm_file_call
from adapters.slack.recovery import EarlierDeliveries, outbox_metadata
from adapters.slack.roster import SlackRoster
from adapters.slack.seller_deletes import seller_delete_call
from bot.messages import Attachment, Reply
from bot.outbox import (
    ASSIGN_NEXT,
    CASE_PARENT,
    CHANNEL_POST,
    PARENT_MOVED,
    SELLER_DELETE,
    SELLER_EDIT,
    SELLER_FILE,
    SELLER_MESSAGE,
    SLACK,
    THREAD_FILE,
    THREAD_POST,
    THREAD_REACTION,
    DeliveryResult,
    OutboundItem,
)
from bot.relay import message_link

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://slack.com/api/"
#: Errors that mean the wanted state is already there.
ALREADY_DONE_ERRORS = frozenset({"already_reacted"})

Call = Callable[[], Awaitable[DeliveryResult]]


class SlackSender:
    """``OutboxSender`` for destination "slack".

    Kinds: CASE_PARENT (post, then ``chat.update`` in place), THREAD_POST, THREAD_FILE,
    THREAD_REACTION, CHANNEL_POST, ASSIGN_NEXT (the agents' group, ``roster``), and
    SELLER_MESSAGE/SELLER_EDIT/SELLER_FILE/SELLER_DELETE for sellers who DM the app.
    ``file_sources`` (by channel) is where THREAD_FILE items get their bytes."""

    destination = SLACK

    def __init__(self, client: AsyncWebClient, *, owns_session: bool = False,
                 file_sources: FileSources | None = None,
                 agent_files: UrlFileSource | None = None,
                 roster: SlackRoster | None = None) -> None:
        self.client = client
        self.roster = roster or SlackRoster(client)  # ASSIGN_NEXT: the agents' group
        self._owns_session = owns_session
        self.file_sources: FileSources = file_sources or {}
        self.agent_files = agent_files  # SELLER_FILE: agents' files for sellers' DMs
        self.earlier = EarlierDeliveries(client)

    @classmethod
    def create(cls, token: str, base_url: str = DEFAULT_BASE_URL,
               file_sources: FileSources | None = None) -> SlackSender:
        """A sender with its own client and connection pool.

        ``base_url`` is SLACK_API_BASE_URL; a missing trailing "/" is added, because the SDK
        ``urljoin``s method names onto it and would otherwise drop the last path segment.
        """
        if not base_url.endswith("/"):
            base_url += "/"
        return cls(AsyncWebClient(token=token, base_url=base_url), owns_session=True,
                   file_sources=file_sources)

    async def close(self) -> None:
        """Close the HTTP session this sender opened (a shared client is left alone)."""
        session = self.client.session
        if self._owns_session and session is not None and not session.closed:
            await session.close()
            self.client.session = None

    def _ensure_session(self) -> None:
        # Without a session the SDK opens (and closes) one per call: a new TCP/TLS connection
        # for every message. It must be created inside the running loop, hence lazily.
        if self._owns_session and (self.client.session is None or self.client.session.closed):
            timeout = aiohttp.ClientTimeout(total=self.client.timeout)
            self.client.session = aiohttp.ClientSession(timeout=timeout)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    async def deliver(self, item: OutboundItem) -> DeliveryResult:
        """Deliver one item; report the outcome (never raises)."""
        try:
            call = self._call_for(item)
        except _NotYet as wait:
            return DeliveryResult(ok=False, error=f"slack: {wait}")
        except (KeyError, TypeError, ValueError) as exc:
            return DeliveryResult(ok=False, permanent=True,
                                  error=f"slack: invalid {item.kind} payload: {exc!r}")
        try:
            self._ensure_session()
            return await call()
        except SlackApiError as exc:
            return api_failure(exc)
        except (TimeoutError, aiohttp.ClientError, OSError, SlackClientError) as exc:
            return DeliveryResult(ok=False, error=f"slack: network error {exc!r}")
        except Exception as exc:  # the contract: report, never raise
            log.exception("unexpected error delivering outbox item %s", item.id)
            return DeliveryResult(ok=False, error=f"slack: unexpected {exc!r}")

    # Building the calls: payload errors surface here, before any network traffic ------------
    def _call_for(self, item: OutboundItem) -> Call:
        builders: dict[str, Callable[[OutboundItem], Call]] = {
            CASE_PARENT: self._case_parent,
            THREAD_POST: self._thread_post,
            THREAD_FILE: self._thread_file,
            THREAD_REACTION: self._reaction,
            CHANNEL_POST: self._channel_post,
            SELLER_MESSAGE: self._seller_message,
            SELLER_EDIT: self._seller_edit,
            SELLER_FILE: self._seller_file,
            ASSIGN_NEXT: self.roster.call,
            PARENT_MOVED: self._parent_moved,
            SELLER_DELETE: lambda i: seller_delete_call(self.client, i),
        }
        if item.kind not in builders:
            raise ValueError(f"unsupported kind {item.kind!r}")
        return builders[item.kind](item)

    def _case_parent(self, item: OutboundItem) -> Call:
        blocks, text = render_case_card(item.payload["card"])
        if item.thread is None:
            channel = item.payload["channel"]
            if not channel:
                raise ValueError("no channel for the case (SLACK_SUPPORT_CHANNEL unset?)")
            return self._post(item, channel=channel, text=text, blocks=blocks)
        return self._update(channel=item.thread.channel, ts=item.thread.ts, text=text,
                            blocks=blocks)

    def _parent_moved(self, item: OutboundItem) -> Call:
        """The old parent of a case whose type moved it: says where, linking the new thread
        (posted before this item, in the case's order)."""
        new = item.thread  # None if the new parent could not be posted: no link then
        link = (message_link(str(item.payload.get("link_base") or "https://slack.com"),
                             new.channel, new.ts) if new else None)
        blocks, text = render_moved_card(item.payload["card"], str(item.payload["to_channel"]),
                                         link)
        return self._update(channel=str(item.payload["channel"]), ts=str(item.payload["ts"]),
                            text=text, blocks=blocks)

    def _thread_post(self, item: OutboundItem) -> Call:
        if item.thread is None:
            raise _NotYet("parent not posted yet")
        text = thread_post_text(str(item.payload.get("text") or ""),
                                str(item.payload.get("author") or "?"),
                                item.payload.get("attachments") or (),
                                item.payload.get("mentions") or ())
        return self._post(item, channel=item.thread.channel, thread_ts=item.thread.ts,
                          text=text)

    def _thread_file(self, item: OutboundItem) -> Call:
        if item.thread is None:
            raise _NotYet("parent not posted yet")
        attachment = Attachment.from_dict(item.payload["attachment"])
        if not attachment.file_id:
            raise ValueError("attachment without a file_id")
        source_name = str(item.payload["source"])
        source = self.file_sources.get(source_name)
        channel, thread_ts = item.thread.channel, item.thread.ts

        async def note(reason: str, look_first: bool = True) -> DeliveryResult:
            # The file is lost to the thread, not its metadata: say so where agents look.
            log.warning("outbox item %s: %s file %s not copied: %s", item.id, source_name,
                        attachment.file_id, reason)
            text = file_not_copied_text(attachment, source_name, reason)
            return await self._post(item, channel=channel, thread_ts=thread_ts, text=text,
                                    look_first=look_first)()

        async def copy() -> DeliveryResult:
            if source is None:
                return await note(f"this server cannot fetch {source_name} files")
            limit = source.max_bytes
            if attachment.size is not None and limit is not None and attachment.size > limit:
                return await note(f"it is over the {limit // (1024 * 1024)} MB download limit")
            try:
                fetched = await source.fetch(attachment.file_id)
            except FileUnavailable as exc:
                return await note(str(exc) or "the file is no longer available")
            except FileFetchFailed as exc:
                return DeliveryResult(ok=False, retry_after=exc.retry_after,
                                      error=f"slack: fetching the file from {source_name}: {exc}")
            name = upload_filename(attachment, fetched.name)
            if _may_be_there(item):
                # Looked for once the name and size are known exactly (fetching is needed to
                # upload anyway); this also finds a note posted for the item instead.
                size = len(fetched.content)
                earlier = await self._look_first(item, lambda: self.earlier.file(
                    item.id, channel, thread_ts, name, size))
                if earlier is not None:
                    return earlier
            try:
                response = await self.client.files_upload_v2(
                    channel=channel, thread_ts=thread_ts, content=fetched.content,
                    filename=name, title=name)
            except SlackApiError as exc:
                failure = api_failure(exc)
                if not failure.permanent:
                    return failure
                # E.g. uploads disabled in this workspace: a note, not a dead letter.
                return await note(f"Slack refused the upload ({error_code(exc) or 'error'})",
                                  look_first=False)
            except SlackRequestError as exc:
                # The bytes' POST to the upload URL failed (HTTP 5xx...): start over later.
                return DeliveryResult(ok=False, error=f"slack: file upload failed: {exc}")
            file_id = (response.get("file") or {}).get("id")
            return DeliveryResult(ok=True, platform_message_id=str(file_id) if file_id else None,
                                  platform_chat_id=channel)

        return copy

    def _reaction(self, item: OutboundItem) -> Call:
        named = item.payload.get("channel")
        if named is None and item.thread is None:
            raise _NotYet("parent not posted yet")
        channel = str(named) if named else item.thread.channel if item.thread else ""
        ts = str(item.payload["target_ts"])
        name = str(item.payload["name"]).strip(":")

        async def react() -> DeliveryResult:
            try:
                await self.client.reactions_add(channel=channel, timestamp=ts, name=name)
            except SlackApiError as exc:
                if error_code(exc) not in ALREADY_DONE_ERRORS:
                    raise
            return DeliveryResult(ok=True, platform_message_id=ts, platform_chat_id=channel)

        return react

    def _channel_post(self, item: OutboundItem) -> Call:
        text = str(item.payload["text"])
        actions = item.payload.get("actions")
        if actions:  # e.g. an invitation request with Approve / Decline
            return self._post(item, channel=item.payload["channel"], text=escape(text),
                              blocks=action_blocks(text, actions))
        return self._post(item, channel=item.payload["channel"],
                          text=text, blocks=item.payload.get("blocks"))

    def _seller_message(self, item: OutboundItem) -> Call:
        reply = Reply.from_dict(item.payload["reply"])
        return self._post(item, channel=item.payload["address"],
                          text=_plain_fallback(reply.text), blocks=reply_blocks(reply))

    def _seller_file(self, item: OutboundItem) -> Call:
        async def find_earlier(name: str, size: int | None) -> DeliveryResult | None:
            return await self._look_first(item, lambda: self.earlier.dm_file(
                item.id, str(item.payload["address"]), name, size, item.queued_at))

        return dm_file_call(self.client, self.agent_files, item,
                            find_earlier if _may_be_there(item) else None)

    def _seller_edit(self, item: OutboundItem) -> Call:
        text = str(item.payload["text"])
        # New blocks replace the old ones, so the original buttons go, as on Telegram.
        return self._update(channel=item.payload["address"],
                            ts=str(item.payload["platform_message_id"]),
                            text=_plain_fallback(text), blocks=text_blocks(text))

    # Web API calls -------------------------------------------------------------------------
    def _post(self, item: OutboundItem, *, channel: str, text: str,
              blocks: list[dict[str, Any]] | None = None, thread_ts: str | None = None,
              look_first: bool = True) -> Call:
        """Post a message of ``item`` (tagged with it); an item that may be there already is
        first looked for where this message would be, unless ``look_first`` is False."""
        kwargs: dict[str, Any] = {"channel": channel, "text": text,
                                  "unfurl_links": False, "unfurl_media": False,
                                  "metadata": outbox_metadata(item.id)}
        if blocks:
            kwargs["blocks"] = blocks
        if thread_ts:
            kwargs["thread_ts"] = thread_ts

        async def post() -> DeliveryResult:
            if look_first and _may_be_there(item):
                earlier = await self._look_first(
                    item, lambda: self.earlier.message(item.id, channel, thread_ts))
                if earlier is not None:
                    return earlier
            response = await self.client.chat_postMessage(**kwargs)
            return DeliveryResult(ok=True, platform_message_id=str(response["ts"]),
                                  platform_chat_id=str(response["channel"]))

        return post

    async def _look_first(self, item: OutboundItem,
                          lookup: Callable[[], Awaitable[DeliveryResult | None]]
                          ) -> DeliveryResult | None:
        """What to report instead of sending an item again: its earlier delivery if the
        lookup finds it, a failure to retry if the lookup may work later; None: send it."""
        try:
            found = await lookup()
        except SlackApiError as exc:
            failure = api_failure(exc)
            if failure.permanent:
                log.warning("outbox item %s: cannot look for an earlier delivery (%s); "
                            "sending it again, which may repeat it", item.id, failure.error)
                return None
            return replace(failure, error=f"{failure.error} (looking for an earlier delivery)")
        except (TimeoutError, aiohttp.ClientError, OSError, SlackClientError) as exc:
            return DeliveryResult(
                ok=False, error=f"slack: network error looking for an earlier delivery {exc!r}")
        if found is not None:
            log.info("outbox item %s was delivered before its claim ran out (%s %s): "
                     "not sent again", item.id, found.platform_chat_id, found.platform_message_id)
        return found

    def _update(self, *, channel: str, ts: str, text: str,
                blocks: list[dict[str, Any]]) -> Call:
        async def update() -> DeliveryResult:
            response = await self.client.chat_update(channel=channel, ts=ts, text=text,
                                                      blocks=blocks)
            return DeliveryResult(ok=True, platform_message_id=str(response.get("ts") or ts),
                                  platform_chat_id=str(response.get("channel") or channel))

        return update


def _may_be_there(item: OutboundItem) -> bool:
    # An earlier attempt whose outcome was not seen (a crash) or not certain (a lost answer),
    # also one from before an operator's retry.
    return item.tried_before


class _NotYet(Exception):
    """The item cannot go yet (its thread has no parent): retry later."""


def _plain_fallback(text: str) -> str:
    return escape(text or "…")  # the notification text, escaped like the blocks
