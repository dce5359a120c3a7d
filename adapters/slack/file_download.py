"""Downloading the files agents share in Slack threads, to send them on to sellers.

Slack serves a file's bytes at its ``url_private`` to a request carrying the bot token (scope
``files:read``). The URL comes from an event, so the token is sent only to the hosts named in
SLACK_FILE_HOSTS (default ``files.slack.com``): a URL on any other host is refused before
any request, and a redirect is followed only to an allowed host. The download uses the Slack
client's token over aiohttp (the transport slack_sdk's async client uses).
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urljoin, urlsplit

import aiohttp

from adapters.files import FetchedFile, FileFetchFailed, FileUnavailable

DEFAULT_FILE_HOSTS = ("files.slack.com",)
#: Seconds a download may take: a 50 MB file over a slow link. A file item's send has room
#: for it and an upload (``bot.dispatcher.FILE_LEASE``).
DOWNLOAD_TIMEOUT = 120.0
_MAX_REDIRECTS = 3
_CHUNK = 64 * 1024


def parse_hosts(setting: str) -> tuple[str, ...]:
    """SLACK_FILE_HOSTS: comma-separated hosts, each optionally with its port."""
    return tuple(h.strip().lower() for h in setting.split(",") if h.strip())


class SlackFileDownload:
    """``UrlFileSource`` for files shared in Slack."""

    def __init__(self, token: str, hosts: Iterable[str] = DEFAULT_FILE_HOSTS,
                 timeout: float = DOWNLOAD_TIMEOUT) -> None:
        self._token = token
        self.hosts = frozenset(h.lower() for h in hosts)
        self.timeout = timeout

    def allows(self, url: str) -> bool:
        """Whether the token may go to ``url``'s host (``host`` or ``host:port`` listed)."""
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            return False
        host = parts.hostname.lower()
        with_port = f"{host}:{parts.port}" if parts.port else host
        return host in self.hosts or with_port in self.hosts

    async def fetch_url(self, url: str, max_bytes: int | None = None) -> FetchedFile:
        if not self.allows(url):
            raise FileUnavailable(f"the file is on {urlsplit(url).hostname or 'an unknown host'}"
                                  ", not a Slack file host: not downloaded")
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        headers = {"Authorization": f"Bearer {self._token}"}
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session:
                for _ in range(_MAX_REDIRECTS + 1):
                    async with session.get(url, headers=headers,
                                           allow_redirects=False) as response:
                        if response.status in (301, 302, 303, 307, 308):
                            url = urljoin(url, response.headers.get("Location", ""))
                            if not self.allows(url):
                                raise FileUnavailable("Slack redirected the download to "
                                                      "another host: not followed")
                            continue
                        return await _body(response, url, max_bytes)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise FileFetchFailed(f"downloading from Slack: {exc!r}") from exc
        raise FileFetchFailed("downloading from Slack: too many redirects")


async def _body(response: aiohttp.ClientResponse, url: str,
                max_bytes: int | None) -> FetchedFile:
    status = response.status
    if status == 429:
        retry = response.headers.get("Retry-After", "")
        raise FileFetchFailed("Slack rate limited the download",
                              float(retry) if retry.isdigit() else None)
    if status >= 500:
        raise FileFetchFailed(f"Slack answered {status}")
    if status in (403, 404, 410):
        raise FileUnavailable(f"Slack answered {status}: the file is gone or not shared with "
                              "the app")
    if status != 200:
        raise FileFetchFailed(f"Slack answered {status}")
    if max_bytes is not None and (response.content_length or 0) > max_bytes:
        raise FileUnavailable(_too_large(max_bytes))
    content = bytearray()
    async for chunk in response.content.iter_chunked(_CHUNK):
        content.extend(chunk)
        if max_bytes is not None and len(content) > max_bytes:
            raise FileUnavailable(_too_large(max_bytes))
    name = urlsplit(url).path.rsplit("/", 1)[-1] or None
    return FetchedFile(bytes(content), name)


def _too_large(max_bytes: int) -> str:
    return f"over the {max_bytes // (1024 * 1024)} MB upload limit"
