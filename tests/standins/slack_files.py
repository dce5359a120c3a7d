"""File transfers on the Slack stand-in: files users shared, and our app's uploads.

Files a test hosts (``host_file``) are what users shared: a message event carries their file
object, ``files.info`` answers it, and their ``url_private`` on the stand-in serves the bytes to
a bot token (recorded as method ``file_download``; ``fail_next("file_download", ...)`` fails it).

Uploads work as Slack's external upload flow (what ``files_upload_v2`` does):
``files.getUploadURLExternal`` hands out an ``upload_url`` on the stand-in itself, the bytes
POSTed there are kept (recorded as method ``upload``; ``fail_next("upload", ...)`` fails it),
and ``files.completeUploadExternal`` shares the files in ``channel_id``/``thread_ts``: they
appear in ``standin.files`` and as a message with ``files`` in the thread.

``files.delete`` deletes one of the app's uploads: it leaves ``standin.files`` (its id goes to
``deleted_files``) and every message carrying it; a share message left with no file and no
words goes too. A file a user shared is not the bot's to delete (``cant_delete_file``).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from tests.standins import HandlerResult
from tests.standins.slack_channels import SlackChannels
from tests.standins.slack_ids import BOT_USER_ID


class SlackFileTransfers(SlackChannels):
    """The file side of ``SlackStandIn``: its routes and methods are wired up there."""

    def __init__(self, latency: float = 0.0) -> None:
        super().__init__(latency)
        #: Uploads by file id: filename, length, and once POSTed, ``content``; once completed,
        #: ``channel_id``, ``thread_ts``, ``title`` and the sharing message's ``ts``.
        self.files: dict[str, dict[str, Any]] = {}
        #: Files users shared (``host_file``), served at their ``url_private``.
        self.hosted_files: dict[str, dict[str, Any]] = {}
        #: Uploads taken back with ``files.delete``.
        self.deleted_files: set[str] = set()

    def host_file(self, name: str, content: bytes, mimetype: str,
                  size: int | None = None) -> dict[str, Any]:
        """Keep a file as if a user had uploaded it; the file object a message event carries
        (``url_private`` on the stand-in). ``size`` overrides the declared size."""
        file_id = f"F{next(self._ts_counter):08d}"
        shown = {"id": file_id, "name": name, "title": name, "mimetype": mimetype,
                 "size": len(content) if size is None else size,
                 "url_private": f"{self.origin}/files-pri/{file_id}/{name}"}
        self.hosted_files[file_id] = {"content": content, "mimetype": mimetype, "file": shown}
        return dict(shown)

    def shared_files(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        """The completed uploads shared in the thread of ``thread_ts``, in order."""
        return [f for f in self.files.values()
                if f.get("channel_id") == channel and f.get("thread_ts") == thread_ts]

    async def _on_private_file(self, request: web.Request) -> web.StreamResponse:
        """A shared file's ``url_private``: the bytes, to a request with a bot token
        (recorded as method ``file_download``; ``fail_next("file_download", ...)`` fails it)."""
        hosted = self.hosted_files.get(request.match_info["file_id"])
        authorized = request.headers.get("Authorization", "").startswith("Bearer xoxb-")

        async def answer(name: str, params: dict[str, Any]) -> HandlerResult:
            if hosted is None:
                return 404, {"ok": False, "error": "file_not_found"}
            if not authorized:
                return 403, {"ok": False, "error": "not_authed"}
            return 200, {"ok": True}

        response = await self._handle(request, "file_download", answer)
        if response.status == 200 and hosted is not None:
            return web.Response(body=hosted["content"], content_type=hosted["mimetype"])
        return response

    async def _on_upload(self, request: web.Request) -> web.StreamResponse:
        """The upload URL: takes the raw bytes (or a multipart ``file``), answers in text."""
        file_id = request.match_info["file_id"]
        if request.content_type == "multipart/form-data":
            field = (await request.post()).get("file")
            content = field.file.read() if isinstance(field, web.FileField) else b""
        else:
            content = await request.read()  # cached: the recording parser reads it again

        async def answer(name: str, params: dict[str, Any]) -> HandlerResult:
            upload = self.files.get(file_id)
            if upload is None:
                return 404, {"ok": False, "error": "file_not_found"}
            upload["content"] = content
            return 200, {"ok": True, "size": len(content)}

        response = await self._handle(request, "upload", answer)
        if response.status == 200:
            # Slack's upload endpoint answers in plain text, not JSON.
            return web.Response(text=f"OK - {len(content)}", content_type="text/plain")
        return response

    def _get_upload_url(self, params: dict[str, Any]) -> HandlerResult:
        filename, length = params.get("filename"), str(params.get("length") or "")
        if not filename or not length.isdigit():
            return 200, {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._ts_counter):08d}"
        self.files[file_id] = {"id": file_id, "filename": str(filename), "length": int(length)}
        return 200, {"ok": True, "file_id": file_id,
                     "upload_url": f"{self.origin}/upload/{file_id}"}

    def _complete_upload(self, params: dict[str, Any]) -> HandlerResult:
        files = params.get("files")
        if isinstance(files, str):  # sent in the query string, where nothing is decoded
            try:
                files = json.loads(files)
            except ValueError:
                files = None
        if not isinstance(files, list) or not files:
            return 200, {"ok": False, "error": "invalid_arguments"}
        channel, thread_ts = params.get("channel_id"), params.get("thread_ts")
        if thread_ts and not channel:
            return 200, {"ok": False, "error": "invalid_arguments"}
        uploads = [self.files.get(str(f.get("id"))) for f in files]
        if any(u is None or "content" not in u for u in uploads):
            return 200, {"ok": False, "error": "file_not_found"}
        completed: list[dict[str, Any]] = []
        for upload, wanted in zip(uploads, files, strict=True):
            assert upload is not None
            if len(upload["content"]) != upload["length"]:
                return 200, {"ok": False, "error": "file_upload_size_mismatch"}
            upload["title"] = wanted.get("title") or upload["filename"]
            completed.append({"id": upload["id"], "name": upload["filename"],
                              "title": upload["title"], "size": upload["length"]})
        if channel:
            # Sharing a file posts a message carrying it (in the thread, if one is given).
            message: dict[str, Any] = {
                "type": "message", "ts": self._next_ts(), "user": BOT_USER_ID,
                "text": str(params.get("initial_comment") or ""), "files": completed,
                "upload": True,
            }
            if thread_ts:
                message["thread_ts"] = str(thread_ts)
            self.messages.setdefault(str(channel), []).append(message)
            for upload in uploads:
                assert upload is not None
                upload.update(channel_id=str(channel), thread_ts=thread_ts, ts=message["ts"])
        return 200, {"ok": True, "files": completed}

    def _delete_file(self, params: dict[str, Any]) -> HandlerResult:
        """``files.delete``: the app's own upload, out of the files and of the messages."""
        file_id = str(params.get("file") or "")
        if file_id in self.deleted_files:
            return 200, {"ok": False, "error": "file_deleted"}
        if file_id in self.hosted_files:
            return 200, {"ok": False, "error": "cant_delete_file"}
        if self.files.pop(file_id, None) is None:
            return 200, {"ok": False, "error": "file_not_found"}
        self.deleted_files.add(file_id)
        for messages in self.messages.values():
            for message in list(messages):
                if not any(f.get("id") == file_id for f in message.get("files") or ()):
                    continue
                message["files"] = [f for f in message["files"] if f.get("id") != file_id]
                if message.get("upload") and not message["files"]:
                    messages.remove(message)
        return 200, {"ok": True}

    def _file_info(self, params: dict[str, Any]) -> HandlerResult:
        """``files.info`` of a hosted file (its ``url_private`` on the stand-in)."""
        hosted = self.hosted_files.get(str(params.get("file") or ""))
        if hosted is None:
            return 200, {"ok": False, "error": "file_not_found"}
        return 200, {"ok": True, "file": hosted["file"]}
