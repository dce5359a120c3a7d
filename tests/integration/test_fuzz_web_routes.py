"""A hypothesis fuzz over every route sellers' browsers use (the portal, its web chat, login
links, email pages) and every method, through the whole `frontdoor serve` app on SQLite and
PostgreSQL: whatever the request, the answer is never a 5xx or a traceback, and the seller's
session and the chat still work afterwards. Each route gets its own examples, mostly with its
own methods and fields, and values that have broken handlers before (NUL, lone surrogates,
non-ASCII digits, numbers past 64 bits). The table of known hostile requests is in
test_hostile_web_routes.py.

Hypothesis runs in a worker thread with blocking HTTP clients while the server keeps serving
in the test's event loop.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import quote

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration import test_hostile_web_routes as hostile
from tests.integration.serve_relay_support import Served
from tests.integration.test_hostile_web_routes import (
    FORM,
    JSON,
    _client_id,
    _multipart,
    logged_in,
)

# The whole serve app with the portal, web chat and email on (SQLite and PostgreSQL).
served = hostile.served


# Fuzzing every new route and method -----------------------------------------------------------
FUZZ = settings(max_examples=40, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
#: Any code point, lone surrogates and NUL included.
any_text = st.text(st.characters(exclude_categories=()), max_size=40)
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40).map(str.strip)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False)
    | any_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=10)
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]
CASE_FORM = ["csrf_token", "text", "files"]
#: Each route's path ({}: a segment drawn by hypothesis, or a real value), its methods and the
#: fields it reads from the query or the body: a request mostly uses those, so that the
#: examples reach the handlers' code rather than stopping at 405.
ROUTES: list[tuple[str, list[str], list[str]]] = [
    ("/web/chat/messages", ["POST"], ["id", "text", "button"]),
    ("/web/chat/files", ["POST"], ["id", "text", "file"]),
    ("/web/chat/seen", ["POST"], ["lines"]),
    ("/web/chat/events", ["GET"], ["after"]),
    ("/portal", ["GET"], []),
    ("/portal/cases", ["GET"], ["status", "q", "page", "done"]),
    ("/portal/cases/new", ["GET", "POST"], [
        "csrf_token", "case_type", "order_id", "description", "kept_files", "kb_seen",
        "add_to", "follows", "files"]),
    ("/portal/cases/{}", ["GET"], ["done"]),
    ("/portal/cases/{}/reply", ["POST"], CASE_FORM),
    ("/portal/cases/{}/evaluate", ["POST"], ["csrf_token", "level", "reason_code", "reason"]),
    ("/portal/cases/{}/reopen", ["POST"], CASE_FORM),
    ("/portal/cases/{}/urgent", ["POST"], ["csrf_token"]),
    ("/portal/cases/{}/keep-open", ["POST"], ["csrf_token"]),
    ("/portal/files/{}", ["GET"], []),
    ("/portal/cases/{}/agent-files/{}/{}", ["GET"], []),
    ("/portal/login/{}", ["GET", "POST"], ["csrf_token"]),
    ("/portal/logout", ["POST"], ["csrf_token"]),
    ("/email/verify/{}", ["GET"], []),
    ("/portal/email", ["GET", "POST"], ["csrf_token", "address", "action", "sent"]),
]
#: What has broken handlers elsewhere: NUL, a lone surrogate, digits int() refuses or the
#: database cannot hold, LIKE's wildcards, markup, line breaks.
NASTY = ["\x00", "\ud800", "²", "٣", "9" * 25, "-1", "0", "%", "_", "..", "/", "<b>", "\r\n",
         " ", "CX-000001", "123-1234567-1234567"]
nasty_text = st.sampled_from(NASTY) | st.lists(st.sampled_from(NASTY) | any_text,
                                               max_size=3).map("".join)


def _quoted(text: str) -> str:
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


@st.composite
def requests(draw: st.DrawFn, route: tuple[str, list[str], list[str]],
             real: list[str]) -> dict[str, Any]:
    """A request to a route: any method, path segments, query, body and headers; with the
    seller's session and CSRF token or without."""
    template, methods, fields = route
    field_names = st.sampled_from(fields) | any_text if fields else any_text
    while "{}" in template:
        segment = draw(st.sampled_from(real) | nasty_text.filter(bool).map(_quoted))
        template = template.replace("{}", segment, 1)
    query = "&".join(f"{_quoted(k)}={_quoted(v)}" for k, v in draw(
        st.dictionaries(field_names, nasty_text, max_size=4)).items())
    kind = draw(st.sampled_from(["none", "json", "form", "multipart", "bytes"]))
    content: bytes | None = None
    content_type: str | None = None
    if kind == "json":
        value = draw(json_values | st.dictionaries(field_names, json_values | nasty_text,
                                                   max_size=4))
        content, content_type = json.dumps(value).encode(), JSON
    elif kind == "form":
        form = draw(st.dictionaries(field_names, nasty_text, max_size=4))
        content = "&".join(f"{_quoted(k)}={_quoted(v)}" for k, v in form.items()).encode()
        content_type = FORM
    elif kind == "multipart":
        parts = draw(st.lists(st.tuples(
            field_names,
            st.none() | st.text(st.characters(min_codepoint=32, max_codepoint=0x2FFF,
                                              exclude_characters='"\\'), max_size=20),
            st.binary(max_size=64)), max_size=4))
        content, content_type = _multipart("fz", parts), "multipart/form-data; boundary=fz"
    elif kind == "bytes":
        content = draw(st.binary(max_size=128))
        content_type = draw(st.sampled_from([JSON, FORM, "multipart/form-data", "text/plain"]))
    headers = {"Content-Type": content_type} if content_type else {}
    if draw(st.booleans()):
        headers["Last-Event-ID"] = draw(header_text)
    return {"method": draw(st.sampled_from(methods) | st.sampled_from(METHODS)),
            "url": template + (f"?{query}" if query else ""), "content": content,
            "headers": headers, "as_seller": draw(st.sampled_from([True, True, False])),
            "csrf_field": draw(st.booleans())}


async def test_any_request_to_the_web_routes_is_never_answered_5xx(served: Served) -> None:
    me = await logged_in(served, "Ada")
    other = await logged_in(served, "Bo")
    await other.client.aclose()
    await me.client.aclose()
    real = [me.number, other.number, str(me.file_id), str(other.file_id), "0", "1"]
    cookies = dict(me.client.cookies)
    base = str(served.http.base_url)

    def run(route: tuple[str, list[str], list[str]]) -> None:
        with httpx.Client(base_url=base, timeout=30.0) as anonymous, \
                httpx.Client(base_url=base, timeout=30.0, cookies=cookies) as seller:
            @FUZZ
            @given(requests(route, real))
            def check(request: dict[str, Any]) -> None:
                client = seller if request["as_seller"] else anonymous
                headers = dict(request["headers"])
                if request["as_seller"]:
                    headers["X-CSRF-Token"] = me.csrf
                content = request["content"]
                if request["csrf_field"] and headers.get("Content-Type") == FORM:
                    content = (content or b"") + f"&csrf_token={me.csrf}".encode()
                with client.stream(request["method"], request["url"], content=content,
                                   headers=headers) as answer:
                    # An event stream stays open: its status is the answer.
                    if not answer.headers.get("content-type", "").startswith(
                            "text/event-stream"):
                        answer.read()
                        assert "Traceback" not in answer.text
                    assert answer.status_code < 500, (request, answer.status_code)

            check()

    for route in ROUTES:  # each route gets its own examples
        await asyncio.to_thread(run, route)
    # The seller's session still works, and the chat still takes a valid message.
    async with httpx.AsyncClient(base_url=base, timeout=15, cookies=cookies) as client:
        assert (await client.get(f"/portal/cases/{me.number}")).status_code == 200
        chat = await client.post("/web/chat/messages", json={"id": _client_id(), "text": "hi"},
                                 headers={"X-CSRF-Token": me.csrf})
        assert chat.status_code == 202, chat.text
