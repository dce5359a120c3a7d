"""Files an agent shares in a case thread from a Slack Connect channel.

Slack sends a file shared across organisations as a stub: its id and
``file_access: "check_file_info"``, with no name, type, size or ``url_private``. The agent's
file would then reach no seller: the copy is fetched from ``url_private``. ``files.info``
(scope ``files:read``, which the DM files already need) gives the whole file object, so it is
asked before the message goes to the desk.
"""

from __future__ import annotations

import logging
from typing import Any, TypeGuard

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

STUB_ACCESS = "check_file_info"
#: files.info errors that pass: the event is tried again later.
PASSING_ERRORS = frozenset({"ratelimited", "internal_error", "fatal_error",
                            "service_unavailable", "request_timeout"})


def _is_stub(file: Any) -> bool:
    return isinstance(file, dict) and file.get("file_access") == STUB_ACCESS


async def with_file_details(client: AsyncWebClient, event: dict[str, Any]) -> dict[str, Any]:
    """``event`` with each file stub replaced by its file object from ``files.info``.

    A failure that passes (a rate limit, Slack's own error, no connection) raises, so the event
    is processed again when its lease runs out (bot.inbox) rather than losing the file. Any
    other answer (the file is gone, the app lacks ``files:read``, an object not shaped like a
    file) leaves the stub, which is logged: the reply's words still go, and the thread is told
    the file did not reach the seller, as for any file that cannot be fetched.
    """
    files = event.get("files") or []
    if not any(_is_stub(file) for file in files):
        return event
    return {**event, "files": [await _looked_up(client, file) if _is_stub(file) else file
                               for file in files]}


async def _looked_up(client: AsyncWebClient, stub: dict[str, Any]) -> dict[str, Any]:
    try:
        response = await client.files_info(file=str(stub.get("id")))
    except SlackApiError as exc:
        status, error = _failure(exc)
        if status == 429 or status >= 500 or error in PASSING_ERRORS:
            raise
        log.warning("Slack Connect file %s: files.info answered %s (HTTP %s); relayed without "
                    "it", stub.get("id"), error, status)
        return stub
    details = response.get("file")
    if not _shaped_like_a_file(details):
        log.warning("Slack Connect file %s: files.info gave no usable file; relayed without it",
                    stub.get("id"))
        return stub
    return dict(details)


def _failure(exc: SlackApiError) -> tuple[int, str]:
    """HTTP status and Slack's error code; a body that was not JSON leaves a bare response."""
    response = exc.response
    status = getattr(response, "status_code", None) or getattr(response, "status", 0) or 0
    data = getattr(response, "data", None)
    error = data.get("error") if isinstance(data, dict) else None
    return int(status), str(error or "")


def _shaped_like_a_file(details: Any) -> TypeGuard[dict[str, Any]]:
    """What the relay reads of a file (adapters/slack/bolt_app.py ``_files``), with its types."""
    if not isinstance(details, dict) or not isinstance(details.get("id"), str):
        return False
    texts_ok = all(details.get(key) is None or isinstance(details.get(key), str)
                   for key in ("name", "mimetype", "url_private", "permalink"))
    size = details.get("size")
    return texts_ok and (size is None or (isinstance(size, int) and not isinstance(size, bool)))
