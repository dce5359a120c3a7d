"""Files an agent shares in a case thread from a Slack Connect channel.

Slack sends a file shared across organisations as a stub: its id and
``file_access: "check_file_info"``, with no name, type, size or ``url_private``. The agent's
file would then reach no seller: the copy is fetched from ``url_private``. ``files.info``
(scope ``files:read``, which the DM files already need) gives the whole file object, so it is
asked before the message goes to the desk.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.file_source import GONE_ERRORS

log = logging.getLogger(__name__)

STUB_ACCESS = "check_file_info"


def has_file_stubs(event: dict[str, Any]) -> bool:
    return any(isinstance(f, dict) and f.get("file_access") == STUB_ACCESS
               for f in event.get("files") or [])


async def with_file_details(client: AsyncWebClient, event: dict[str, Any]) -> dict[str, Any]:
    """``event`` with each file stub replaced by its file object from ``files.info``.

    A file Slack says is gone stays a stub: the seller is then told it could not be sent, as
    for any file that cannot be fetched. Any other failure raises, so the event is processed
    again when its lease runs out (bot.inbox), rather than losing the file.
    """
    if not has_file_stubs(event):
        return event
    files: list[Any] = []
    for file in event.get("files") or []:
        if not (isinstance(file, dict) and file.get("file_access") == STUB_ACCESS):
            files.append(file)
            continue
        try:
            response = await client.files_info(file=str(file.get("id")))
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else None
            if error not in GONE_ERRORS:
                raise
            log.warning("a Slack Connect file %s is not to be had (%s): left as it came",
                        file.get("id"), error)
            files.append(file)
            continue
        details = response.get("file")
        files.append(dict(details) if isinstance(details, dict) else file)
    return {**event, "files": files}
