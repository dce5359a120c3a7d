"""The request-body cap as ASGI middleware, driven with plain ASGI messages: when the body is
read to its end before the 413 (where people read the refusal) and when it isn't."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from frontdoor.body_limit import BodySizeLimit


async def reads_everything(scope: Scope, receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if not message.get("more_body", False):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def explain(accept_language: str, cap: int) -> str:
    return f"too large for you ({accept_language or 'any'}), {cap} bytes at most"


class Client:
    """Hands the middleware ``chunks`` one by one; past them, receive() waits as a server
    does for a client that has nothing more to send (until it disconnects)."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = list(chunks)
        self.receives = 0
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        self.receives += 1
        if not self.chunks:
            await asyncio.sleep(3600)
        chunk = self.chunks.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(self.chunks)}

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    @property
    def text(self) -> str:
        return b"".join(m.get("body", b"") for m in self.sent[1:]).decode()


def scope(path: str, headers: dict[str, str]) -> dict[str, Any]:
    return {"type": "http", "method": "POST", "path": path,
            "headers": [(k.encode(), v.encode()) for k, v in headers.items()]}


def limit() -> BodySizeLimit:
    return BodySizeLimit(reads_everything, max_bytes=100, explain_by_prefix={"/portal": explain})


async def test_a_chunked_body_whose_last_chunk_crosses_the_cap_is_answered_at_once() -> None:
    client = Client([b"x" * 60, b"x" * 60])  # no Content-Length; the second chunk is the last
    await asyncio.wait_for(limit()(scope("/portal/cases/new", {"accept-language": "zh-CN"}),
                                   client.receive, client.send), 5)
    assert client.status == 413 and client.receives == 2
    assert "too large for you (zh-CN), 100 bytes at most" in client.text


async def test_a_chunked_body_is_read_to_its_end_before_the_portals_refusal() -> None:
    client = Client([b"x" * 60, b"x" * 60, b"x" * 60, b"x" * 60])
    await asyncio.wait_for(limit()(scope("/portal/cases/new", {}), client.receive, client.send), 5)
    assert client.status == 413 and client.chunks == [] and client.receives == 4


async def test_a_declared_body_is_drained_on_the_portal_but_not_for_100_continue() -> None:
    drained = Client([b"x" * 150])
    await limit()(scope("/portal/cases/new", {"content-length": "150"}),
                  drained.receive, drained.send)
    assert drained.status == 413 and drained.receives == 1
    waiting = Client([b"x" * 150])  # has sent nothing: it waits for "100 Continue"
    await limit()(scope("/portal/cases/new", {"content-length": "150", "expect": "100-continue"}),
                  waiting.receive, waiting.send)
    assert waiting.status == 413 and waiting.receives == 0


async def test_platform_paths_are_refused_without_reading_in_plain_words() -> None:
    client = Client([b"x" * 150])
    await limit()(scope("/telegram/webhook", {"content-length": "150"}),
                  client.receive, client.send)
    assert client.status == 413 and client.receives == 0
    assert client.text == "request body too large (at most 100 bytes)\n"
