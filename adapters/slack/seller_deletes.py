"""Taking an agent's deleted message back from a seller who DMs the app (SELLER_DELETE).

The reply's text is a message of the bot: ``chat.delete`` on its ts. Each of the reply's files
is a file the bot shared into the DM (its copy's id is the file id, ``F...``): ``files.delete``,
which also takes its share out of the DM; ``chat.delete`` on a file id finds no message and
deletes nothing. "Gone already" (a retry after a lost answer, or removed meanwhile) counts as
done only for what was asked about: ``message_not_found`` for a real ts, ``file_not_found`` /
``file_deleted`` for a file. Other errors are raised for the sender to classify.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.api_failures import error_code
from bot.outbox import DeliveryResult, OutboundItem

#: A message's ts ("1712345678.123456"); anything else (a file id) is no message.
_MESSAGE_TS = re.compile(r"\d+\.\d+")
#: ``files.delete`` errors saying the file is not there any more.
FILE_GONE_ERRORS = frozenset({"file_not_found", "file_deleted"})


def seller_delete_call(client: AsyncWebClient,
                       item: OutboundItem) -> Callable[[], Awaitable[DeliveryResult]]:
    """The deletion of one seller's copy: a message with ``chat.delete``, a file with
    ``files.delete``. A copy without the ``file`` mark whose id is no ts is a file too
    (a deletion queued before files were marked)."""
    channel, copy_id = str(item.payload["address"]), str(item.payload["platform_message_id"])
    is_file = bool(item.payload.get("file")) or not _MESSAGE_TS.fullmatch(copy_id)

    async def delete() -> DeliveryResult:
        try:
            if is_file:
                await client.files_delete(file=copy_id)
            else:
                await client.chat_delete(channel=channel, ts=copy_id)
        except SlackApiError as exc:
            gone = FILE_GONE_ERRORS if is_file else {"message_not_found"}
            if error_code(exc) not in gone:
                raise
        return DeliveryResult(ok=True, platform_message_id=copy_id, platform_chat_id=channel)

    return delete
