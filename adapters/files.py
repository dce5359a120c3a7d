"""The file port between adapters: one platform fetches a seller's file, another uploads it.

A seller's photo arrives on Telegram as a ``file_id``; the Slack sender copies it into the
case's thread. The Slack side knows no Telegram SDK: it gets a ``FileSource`` per channel
(``FileSources``) and asks it for the bytes. Sources report failures with two exceptions, so
the sender can tell the outbox whether to retry:

* ``FileUnavailable``: the file will never be fetchable (gone, too big): do not retry;
* ``FileFetchFailed``: try again later (network, 5xx, rate limit with ``retry_after``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class FetchedFile:
    """A file's bytes, and the name the platform stores it under (e.g. ``file_12.jpg``)."""

    content: bytes
    name: str | None = None


class FileUnavailable(Exception):
    """The file cannot be fetched, now or later (deleted, expired, over the size limit)."""


class FileFetchFailed(Exception):
    """Fetching failed for a reason that may pass: retry, after ``retry_after`` seconds if set."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class FileSource(Protocol):
    """Fetches files of one channel by the ``file_id`` its updates carried."""

    #: Largest file this source can hand out (None: no known limit). Files whose size is
    #: known to exceed it are not even requested.
    max_bytes: int | None

    async def fetch(self, file_id: str) -> FetchedFile:
        """The file's bytes. Raises ``FileUnavailable`` or ``FileFetchFailed``."""
        ...


#: File sources by channel name ("telegram" -> its source).
FileSources = Mapping[str, FileSource]


class UrlFileSource(Protocol):
    """Fetches the files agents share, by the URL their platform gave (Slack's
    ``url_private``), for the seller's channel to upload."""

    async def fetch_url(self, url: str, max_bytes: int | None = None) -> FetchedFile:
        """The file's bytes. Raises ``FileUnavailable`` (never: a foreign host, gone, over
        ``max_bytes``) or ``FileFetchFailed`` (retry)."""
        ...
