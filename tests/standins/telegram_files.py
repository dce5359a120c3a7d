"""File downloads on the Telegram stand-in: ``getFile`` and the file URLs behind it.

``add_file`` makes a file known; ``getFile`` refuses files over 20 MB like the real Bot API;
downloads (``/file/bot<token>/<file_path>``) are recorded as method ``download``
(``fail_next("download", ...)`` fails them) and answer 404 for unknown paths.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tests.standins import HandlerResult, StandInServer
from tests.standins.telegram_faults import error_body

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024


class TelegramFiles(StandInServer):
    """The file side of ``TelegramStandIn``: its route and ``getFile`` are wired up there."""

    def __init__(self, latency: float = 0.0) -> None:
        super().__init__(latency)
        self.files: dict[str, tuple[str, bytes]] = {}  # file_id -> (file_path, content)
        self._declared_sizes: dict[str, int] = {}

    def add_file(self, file_id: str, content: bytes = b"", file_path: str | None = None,
                 size: int | None = None) -> None:
        """Make ``getFile``/download know a file. ``size`` overrides ``len(content)``."""
        path = file_path or f"documents/{file_id}.bin"
        self.files[file_id] = (path, content)
        if size is not None:
            self._declared_sizes[file_id] = size

    async def _on_file(self, request: web.Request) -> web.StreamResponse:
        wanted = request.match_info["file_path"]
        found = next((content for path, content in self.files.values() if path == wanted),
                     None)

        async def answer(name: str, params: dict[str, Any]) -> HandlerResult:
            if found is None:
                return 404, error_body(404, "Not Found")
            return 200, {"file_path": wanted, "size": len(found)}

        response = await self._handle(request, "download", answer)
        if response.status == 200 and found is not None:
            return web.Response(body=found, content_type="application/octet-stream")
        return response

    async def _get_file(self, params: dict[str, Any]) -> HandlerResult:
        file_id = str(params.get("file_id", ""))
        if file_id not in self.files:
            return 400, error_body(400, "Bad Request: invalid file_id")
        path, content = self.files[file_id]
        size = self._declared_sizes.get(file_id, len(content))
        if size > MAX_DOWNLOAD_BYTES:
            return 400, error_body(400, "Bad Request: file is too big")
        return 200, {"ok": True, "result": {"file_id": file_id, "file_unique_id": file_id,
                                            "file_size": size, "file_path": path}}
