"""Sellers' files sent in a Slack DM, fetched to be copied into the case's thread.

A file a seller shares with the app in a DM is private to that DM: its ``url_private`` opens
for nobody in the agents' channel. So, like a Telegram file, it is downloaded and uploaded into
the thread (THREAD_FILE). The DM's event carried the file's id; ``files.info`` gives its
current ``url_private`` (scope ``files:read``), and the bytes come through the same guarded
download as agents' files (``SlackFileDownload``: the bot token only goes to SLACK_FILE_HOSTS).
"""

from __future__ import annotations

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.files import FetchedFile, FileFetchFailed, FileUnavailable, UrlFileSource

#: The channel name of sellers who DM the app (``FileSources`` key, attachments' ``source``).
CHANNEL = "slack"
#: Largest file copied into a thread: Slack takes far more, a case thread is not a file store.
MAX_COPY_BYTES = 100 * 1024 * 1024
#: files.info errors that say the file is not there to be had, now or later.
_GONE = frozenset({"file_not_found", "file_deleted", "file_is_deleted", "not_visible",
                   "access_denied"})


class SlackFileSource:
    """``FileSource`` for channel "slack": ``files.info`` by id, then the download."""

    max_bytes: int | None = MAX_COPY_BYTES

    def __init__(self, client: AsyncWebClient, download: UrlFileSource) -> None:
        self.client = client
        self.download = download

    async def fetch(self, file_id: str) -> FetchedFile:
        """The file's bytes; raises ``FileUnavailable`` or ``FileFetchFailed``."""
        try:
            response = await self.client.files_info(file=file_id)
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "")
            if exc.response.status_code == 429:
                retry = exc.response.headers.get("Retry-After", "")
                raise FileFetchFailed("Slack rate limited files.info",
                                      float(retry) if str(retry).isdigit() else None) from exc
            if error in _GONE:
                raise FileUnavailable(f"Slack has no such file any more ({error})") from exc
            raise FileFetchFailed(f"Slack's files.info failed ({error or 'error'})") from exc
        except (SlackClientError, OSError, TimeoutError) as exc:
            raise FileFetchFailed(f"Slack's files.info failed: {exc!r}") from exc
        info = response.get("file") or {}
        url = info.get("url_private_download") or info.get("url_private")
        if not url:
            raise FileUnavailable("Slack gave no download URL for the file (an external file?)")
        fetched = await self.download.fetch_url(str(url), self.max_bytes)
        return FetchedFile(fetched.content, info.get("name") or fetched.name)
