"""Agents' files to a seller who DMs the app: the bytes downloaded from the thread's file
(``UrlFileSource``), shared into the seller's DM with ``files_upload_v2``.

A Slack file cannot simply be pointed at from the DM: the seller has no access to the agents'
channel, so the DM gets its own copy. Web API errors are raised for the sender to classify
(retry or permanent); a file that can never go is reported permanent, so the thread is told.

An item that may be in the DM already (a retry, or handed over again after a crash) is first
looked for there (``find_earlier``, :meth:`EarlierDeliveries.dm_file` through the sender),
before its bytes are fetched: found, it is reported delivered, not shared a second time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from slack_sdk.web.async_client import AsyncWebClient

from adapters.files import FileFetchFailed, FileUnavailable, UrlFileSource
from bot.messages import Attachment
from bot.outbox import DeliveryResult, OutboundItem

#: Looks for the DM's earlier share of a file (name, size): its delivery, a failure to retry
#: (the lookup may work later), or None: share it.
FindEarlier = Callable[[str, int | None], Awaitable[DeliveryResult | None]]

#: Slack's own upload limit is far above this; a seller's chat is not a file store.
MAX_DM_FILE_BYTES = 100 * 1024 * 1024


def dm_file_call(client: AsyncWebClient, files: UrlFileSource | None, item: OutboundItem,
                 find_earlier: FindEarlier | None = None
                 ) -> Callable[[], Awaitable[DeliveryResult]]:
    """The share of one SELLER_FILE item into the seller's DM; ``find_earlier`` given when
    the item may be there already."""
    payload = item.payload
    attachment = Attachment.from_dict(payload["attachment"])
    channel = str(payload["address"])
    caption = str(payload.get("caption") or "")
    name = attachment.file_name or attachment.file_id or "file"

    async def share() -> DeliveryResult:
        if files is None or not attachment.url:
            return DeliveryResult(ok=False, permanent=True,
                                  error="this server cannot fetch the agents' files")
        if find_earlier is not None:
            # The size Slack declared is the bytes that would go up (None: the name decides).
            earlier = await find_earlier(name, attachment.size)
            if earlier is not None:
                return earlier
        try:
            fetched = await files.fetch_url(attachment.url, MAX_DM_FILE_BYTES)
        except FileUnavailable as exc:
            return DeliveryResult(ok=False, permanent=True, error=str(exc))
        except FileFetchFailed as exc:
            return DeliveryResult(ok=False, retry_after=exc.retry_after,
                                  error=f"slack: fetching the file: {exc}")
        response = await client.files_upload_v2(
            channel=channel, content=fetched.content, filename=name, title=name,
            initial_comment=caption or None)
        file_id = (response.get("file") or {}).get("id")
        return DeliveryResult(ok=True, platform_message_id=str(file_id) if file_id else None,
                              platform_chat_id=channel)

    return share
