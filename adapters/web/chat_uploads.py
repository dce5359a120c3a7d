"""Images and files sent from the web chat panel: ``POST /web/chat/files``.

A multipart form (header ``X-CSRF-Token``) with the client message ``id``, up to
``uploads.MAX_FILES`` ``file`` parts and an optional ``text`` caption. The limits are the
chat's: FRONTDOOR_MAX_ATTACHMENT_MB per file (413 with the file's name and the limit), any
file type as on Telegram; a body that is not a multipart form is refused with 415. The files
are kept with the portal's files and handed to the engine as the message's attachments
(source ``web``), so they reach the case's Slack thread exactly like a Telegram photo: the
Slack sender fetches their bytes through the portal's file source.

Once per client id, like a typed message: the seller's line holds the attachment records, so a
retried post (the browser did not see the answer) hands the same files to the engine, whose
event id is that client id, instead of storing them again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from adapters.web.chat_parts import (
    CLIENT_ID,
    WebChatParts,
    hand_to_engine,
    message_of_line,
    posting_seller,
    refuse,
    refuse_in_words,
    retry_later,
)
from adapters.web.rendering import browser_speaker
from adapters.web.uploads import (
    MAX_FILES,
    FileStore,
    UploadRefused,
    read_uploads,
    store_uploads,
)
from bot import i18n
from bot.dialogue.cleaning import clean_text
from bot.domain import Identity
from bot.web_chat import SELLER_LINE, web_address

FILES_PATH = "/web/chat/files"
FILE_FIELD = "file"
#: A form's non-file fields are a client id and a caption: a few, and small.
_MAX_FIELDS = 5


def upload_cap(max_file_bytes: int) -> int:
    """The largest request body the upload path takes: ``MAX_FILES`` files at the limit and
    the form around them (frontdoor's body limit answers 413 to more before it is read)."""
    return MAX_FILES * max_file_bytes + 100_000


def file_line(client_id: str, caption: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    """The seller's line for the files sent: what the panel shows, and the attachment records
    a retried post hands to the engine again."""
    names = ", ".join(str(r.get("file_name") or "file") for r in records)
    return {"kind": "file", "text": caption, "file_name": names, "client_id": client_id,
            "attachments": records}


class ChatUploads:
    def __init__(self, parts: WebChatParts,
                 identity: Callable[[int], Awaitable[Identity | None]]) -> None:
        self.parts = parts
        self.identity = identity

    async def post_files(self, request: Request) -> Response:
        p = self.parts
        seller_id = posting_seller(p, request)
        if isinstance(seller_id, Response):
            return seller_id
        if p.files is None:
            return refuse(404, "Files cannot be sent here.", "no file store", request)
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "multipart/form-data":
            return refuse(415, "Files are sent as a form upload (multipart/form-data).",
                          f"content type {content_type[:60]!r}", request)
        try:
            form = await request.form(max_files=MAX_FILES, max_fields=_MAX_FIELDS)
        except HTTPException as exc:  # starlette's refusal of a malformed or oversized form
            if "Too many files" in str(exc.detail):
                return refuse_in_words(413, "portal.chat_max_files", str(exc.detail), request,
                                       count=MAX_FILES)
            return refuse_in_words(400, "portal.chat_upload_unreadable", str(exc.detail),
                                   request)
        try:
            return await self._handle_form(request, form, seller_id, p.files)
        except Exception:
            # The files or the line could not be stored (a database outage): the panel sends
            # the same id again; what a first attempt stored is found by that id.
            return retry_later(str(form.get("id") or "?")[:64], seller_id, request)
        finally:
            await form.close()

    async def _handle_form(self, request: Request, form: FormData, seller_id: int,
                           file_store: FileStore) -> Response:
        p = self.parts
        client_id = form.get("id")
        if not isinstance(client_id, str) or not CLIENT_ID.match(client_id):
            return refuse_in_words(400, "portal.chat_upload_unreadable", "bad client id", request)
        caption = form.get("text") or ""
        if not isinstance(caption, str):
            return refuse_in_words(400, "portal.chat_upload_unreadable", "text is a file",
                                   request)
        caption = clean_text(caption)  # what the engine reads, and the line shows
        if len(caption) > p.max_text_chars:
            return refuse_in_words(413, "portal.chat_too_long",
                                   f"caption of {len(caption)} characters", request,
                                   limit=p.max_text_chars)
        identity = await self.identity(seller_id)
        if identity is None:
            return refuse_in_words(401, "portal.chat_log_in_again", "unknown seller", request)
        address = web_address(seller_id)
        line = await asyncio.to_thread(p.store.seller_line, address, client_id)
        if line is None:  # a first post: keep the files, then the line that names them
            try:
                with i18n.speaking(browser_speaker(request)):  # the refusal's words
                    files = await read_uploads(form, FILE_FIELD, p.max_file_bytes)
            except UploadRefused as exc:
                return refuse_in_words(exc.status, "portal.not_sent", str(exc), request,
                                       reason=str(exc))
            if not files:
                return refuse_in_words(400, "portal.chat_choose_file", "no file in the form",
                                       request)
            records = await store_uploads(file_store, seller_id, files, p.now())
            payload = file_line(client_id, caption, records)
            if not await asyncio.to_thread(p.store.add_seller_line, address, client_id,
                                           payload, p.now()):
                line = await asyncio.to_thread(p.store.seller_line, address, client_id)
        if line is not None:  # posted before (a retry): the files kept then
            if line.author != SELLER_LINE or not line.payload.get("attachments"):
                return refuse(409, "This message id was used for something else.",
                              "client id of a line without files", request)
            payload = line.payload
        p.hub.publish(address)
        msg = message_of_line(seller_id, client_id, payload, identity.display_name)
        return await hand_to_engine(p, msg, client_id, seller_id, request)
