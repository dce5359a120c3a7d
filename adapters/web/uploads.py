"""Files sellers attach on the portal: read from the form within the chat's limits, stored
(storage/portal_queries.py), and described like any channel's attachment so the relay copies
them into the case's Slack thread (the sender fetches them through ``PortalFileSource``).

The limits are the chat's: FRONTDOOR_MAX_ATTACHMENT_MB per file, any type (as in chat; the
portal hands a file back only to its seller, as a download, so its type cannot run as a page).
"""

from __future__ import annotations

import asyncio
import mimetypes
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from starlette.datastructures import FormData, UploadFile

from adapters.files import FetchedFile, FileUnavailable
from bot.texts import t

#: The attachments' ``source``: where the Slack sender fetches their bytes.
SOURCE = "web"
MAX_FILES = 5
MAX_NAME_CHARS = 200
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


class StoredFileView(Protocol):
    @property
    def file_id(self) -> int: ...
    @property
    def file_name(self) -> str: ...
    @property
    def mime_type(self) -> str: ...
    @property
    def content(self) -> bytes: ...


class FileStore(Protocol):
    def add_file(self, seller_id: int, file_name: str, mime_type: str, content: bytes,
                 now: datetime) -> int: ...
    def get_file(self, file_id: int, seller_id: int | None = None) -> StoredFileView | None: ...
    def delete_files(self, seller_id: int, file_ids: Sequence[int]) -> int: ...


class UploadRefused(Exception):
    """An upload over the limits; the message says which and what the limit is. ``status``:
    413 for a limit, 400 for an empty file."""

    def __init__(self, message: str, status: int = 413) -> None:
        super().__init__(message)
        self.status = status


def _name(upload: UploadFile) -> str:
    raw = (upload.filename or "file").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in raw if ch >= " " and ch != "\x7f").strip() or "file"
    return cleaned[:MAX_NAME_CHARS]


def _mime(upload: UploadFile, name: str) -> str:
    declared = (upload.content_type or "").split(";")[0].strip().lower()
    if declared and declared != "application/octet-stream" and "/" in declared:
        return declared[:100]
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


async def read_uploads(form: FormData, field: str, max_bytes: int) -> list[tuple[str, str, bytes]]:
    """(name, type, bytes) of the files in ``field``; empty file inputs are skipped."""
    uploads = [u for u in form.getlist(field) if isinstance(u, UploadFile) and u.filename]
    if len(uploads) > MAX_FILES:
        raise UploadRefused(t("portal.too_many_files", count=MAX_FILES))
    files = []
    for upload in uploads:
        name = _name(upload)
        content = await upload.read(max_bytes + 1)
        if len(content) > max_bytes:
            raise UploadRefused(t("portal.file_too_big", name=name, mb=max_bytes // 1_000_000))
        if not content:
            raise UploadRefused(t("portal.file_empty", name=name), status=400)
        files.append((name, _mime(upload, name), content))
    return files


async def store_uploads(store: FileStore, seller_id: int, files: Sequence[tuple[str, str, bytes]],
                        now: datetime) -> list[dict[str, Any]]:
    """Store the files; their attachment records, as the case rules keep them."""
    attachments = []
    for name, mime, content in files:
        file_id = await asyncio.to_thread(store.add_file, seller_id, name, mime, content, now)
        attachments.append(attachment_record(file_id, name, mime, len(content)))
    return attachments


async def forget_uploads(store: FileStore, seller_id: int,
                         attachments: Sequence[dict[str, Any]]) -> None:
    """Delete files stored for a message that was then refused: nothing refers to them, and
    the seller sends them again with the corrected message."""
    ids = [int(a["file_id"]) for a in attachments if a.get("source") == SOURCE]
    await asyncio.to_thread(store.delete_files, seller_id, ids)


def attachment_record(file_id: int, name: str, mime: str, size: int) -> dict[str, Any]:
    """A portal file as the case rules keep attachments (bot.messages.Attachment.as_dict)."""
    return {"kind": "photo" if mime in IMAGE_TYPES else "document", "file_id": str(file_id),
            "file_name": name, "mime_type": mime, "size": size, "url": None, "source": SOURCE}


class PortalFileSource:
    """The Slack sender's ``FileSource`` for files uploaded on the portal."""

    def __init__(self, store: FileStore, max_bytes: int | None = None) -> None:
        self._store = store
        self.max_bytes = max_bytes

    async def fetch(self, file_id: str) -> FetchedFile:
        if not file_id.isdigit():
            raise FileUnavailable(f"no portal file {file_id[:40]!r}")
        stored = await asyncio.to_thread(self._store.get_file, int(file_id))
        if stored is None:
            raise FileUnavailable(f"portal file {file_id} is gone")
        return FetchedFile(stored.content, stored.file_name)
