"""RasaClassifier against a tiny local HTTP server on 127.0.0.1 (no mocks): answers, retries,
timeouts and the "NLU unavailable" result."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from bot.classification import Classification
from nlu.client import RasaClassifier

PARSE_OK: dict[str, Any] = {
    "text": "x",
    "intent": {"name": "shipping", "confidence": 0.91},
    "entities": [],
    "intent_ranking": [
        {"name": "shipping", "confidence": 0.91},
        {"name": "order", "confidence": 0.06},
        {"name": "inventory", "confidence": 0.03},
    ],
}


@dataclass
class FakeRasa:
    """Answers each request with the next scripted behaviour (the last one repeats)."""

    script: list[tuple[str, Any]] = field(default_factory=lambda: [("json", PARSE_OK)])
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next(self) -> tuple[str, Any]:
        with self.lock:
            return self.script.pop(0) if len(self.script) > 1 else self.script[0]


def _handler(fake: FakeRasa) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
            pass

        def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            fake.requests.append(("GET", self.path, None))
            self._send(200, json.dumps({"model_file": "m.tar.gz"}).encode())

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            fake.requests.append(("POST", self.path, body))
            kind, arg = fake.next()
            if kind == "json":
                self._send(200, json.dumps(arg).encode())
            elif kind == "status":
                self._send(int(arg), b'{"error": "boom"}')
            elif kind == "sleep":
                time.sleep(float(arg))
                self._send(200, json.dumps(PARSE_OK).encode())
            elif kind == "garbage":
                self._send(200, b"<html>proxy error</html>", "text/html")
            elif kind == "drop":  # close the connection without an answer
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)

    return Handler


@pytest.fixture
def fake_rasa() -> Iterator[tuple[FakeRasa, str]]:
    fake = FakeRasa()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_parses_intent_ranking_and_entities(fake_rasa: tuple[FakeRasa, str]) -> None:
    fake, url = fake_rasa
    async with RasaClassifier(url + "/") as nlu:
        result = await nlu.classify("where is cx 77 order 240518k7qw93xz")
    assert result.available
    assert result.intent == "shipping"
    assert result.confidence == pytest.approx(0.91)
    assert result.ranking[:2] == (("shipping", 0.91), ("order", 0.06))
    assert result.entity("order_id") == "240518K7QW93XZ"
    assert result.entity("case_number") == "CX-000077"
    assert fake.requests == [("POST", "/model/parse", {"text": "where is cx 77 order 240518k7qw93xz"})]


async def test_rasa_fallback_label_is_skipped(fake_rasa: tuple[FakeRasa, str]) -> None:
    fake, url = fake_rasa
    fake.script = [("json", {
        "intent": {"name": "nlu_fallback", "confidence": 0.3},
        "intent_ranking": [{"name": "nlu_fallback", "confidence": 0.3},
                           {"name": "payment", "confidence": 0.28}, {"name": "order", "confidence": 0.2}],
    })]
    async with RasaClassifier(url) as nlu:
        result = await nlu.classify("money??")
    assert (result.intent, result.confidence) == ("payment", 0.28)
    assert [name for name, _ in result.ranking] == ["payment", "order"]


async def test_custom_case_prefix(fake_rasa: tuple[FakeRasa, str]) -> None:
    _fake, url = fake_rasa
    async with RasaClassifier(url, case_prefix="AB") as nlu:
        result = await nlu.classify("status of ab 12 and cx 13")
    assert [e.value for e in result.entities] == ["AB-000012"]


async def test_retries_server_errors_then_succeeds(fake_rasa: tuple[FakeRasa, str]) -> None:
    fake, url = fake_rasa
    fake.script = [("status", 503), ("drop", None), ("json", PARSE_OK)]
    async with RasaClassifier(url, retries=2, backoff=0.01) as nlu:
        result = await nlu.classify("hi")
    assert result.available and result.intent == "shipping"
    assert len(fake.requests) == 3


async def test_unavailable_after_bounded_retries(fake_rasa: tuple[FakeRasa, str]) -> None:
    fake, url = fake_rasa
    fake.script = [("status", 500)]
    async with RasaClassifier(url, retries=2, backoff=0.01) as nlu:
        result = await nlu.classify("refund for 123-1234567-1234567")
    assert result == Classification.unavailable(result.text, result.entities)
    assert not result.available and result.intent is None
    assert result.entity("order_id") == "123-1234567-1234567"  # entities survive an outage
    assert len(fake.requests) == 3


async def test_timeout_is_bounded(fake_rasa: tuple[FakeRasa, str]) -> None:
    fake, url = fake_rasa
    fake.script = [("sleep", 2.0)]
    started = time.monotonic()
    async with RasaClassifier(url, timeout=0.2, retries=1, backoff=0.01) as nlu:
        result = await nlu.classify("hello")
    elapsed = time.monotonic() - started
    assert not result.available
    assert elapsed < 1.5  # two attempts of 0.2 s, not the server's 2 s
    assert len(fake.requests) == 2


async def test_slow_first_answer_then_fast(fake_rasa: tuple[FakeRasa, str]) -> None:
    fake, url = fake_rasa
    fake.script = [("sleep", 1.0), ("json", PARSE_OK)]
    async with RasaClassifier(url, timeout=0.3, retries=1, backoff=0.01) as nlu:
        result = await nlu.classify("hello")
    assert result.available and result.intent == "shipping"


async def test_client_errors_are_not_retried(fake_rasa: tuple[FakeRasa, str]) -> None:
    fake, url = fake_rasa
    fake.script = [("status", 404)]
    async with RasaClassifier(url, retries=3, backoff=0.01) as nlu:
        result = await nlu.classify("hello")
    assert not result.available
    assert len(fake.requests) == 1


async def test_non_json_answer_is_unavailable(fake_rasa: tuple[FakeRasa, str]) -> None:
    fake, url = fake_rasa
    fake.script = [("garbage", None)]
    async with RasaClassifier(url, retries=1, backoff=0.01) as nlu:
        result = await nlu.classify("hello")
    assert not result.available
    assert len(fake.requests) == 2


async def test_nothing_listening_is_unavailable() -> None:
    url = f"http://127.0.0.1:{_unused_port()}"
    async with RasaClassifier(url, timeout=0.5, retries=2, backoff=0.01) as nlu:
        result = await nlu.classify("cx-4512 any update")
        assert not await nlu.ready()
    assert not result.available
    assert result.entity("case_number") == "CX-004512"


async def test_blank_text_needs_no_request(fake_rasa: tuple[FakeRasa, str]) -> None:
    fake, url = fake_rasa
    async with RasaClassifier(url) as nlu:
        result = await nlu.classify("   ")
    assert result.available and result.intent is None
    assert fake.requests == []


async def test_ready(fake_rasa: tuple[FakeRasa, str]) -> None:
    _fake, url = fake_rasa
    nlu = RasaClassifier(url)
    assert await nlu.ready()
    await nlu.aclose()


@pytest.mark.parametrize(("typed", "sent", "case_number"), [
    # Chinese input methods type full-width forms: the model reads them as ASCII.
    ("ＣＸ－００００１２号的进度怎么样？", "CX-000012号的进度怎么样?", "CX-000012"),
    # A reference code is left out of what the model reads (nlu.model_text).
    ("any news on CX-000004? ref tkeee9d18ee7", "any news on CX-000004? ref", "CX-000004"),
])
async def test_the_model_reads_the_text_as_model_text_makes_it(
        typed: str, sent: str, case_number: str) -> None:
    """The classification keeps the seller's text and the entities' values as typed."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content)["text"])
        return httpx.Response(200, json={"intent": {"name": "check_status", "confidence": 0.9},
                                         "intent_ranking": [{"name": "check_status", "confidence": 0.9}]})

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    async with RasaClassifier("http://nlu.test", client=client) as nlu:
        result = await nlu.classify(typed)
    await client.aclose()
    assert seen == [sent]
    assert result.text == typed
    assert result.entity("case_number") == case_number
