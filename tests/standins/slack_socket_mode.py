"""Socket Mode on the Slack stand-in, the server side of Slack's websocket delivery.

``apps.connections.open``, called with an app-level token (``xapp-...``), hands out a ``ws://``
URL on the stand-in; the websocket there greets with ``hello``, carries the envelopes a test
pushes (``await standin.socket_push(envelope)``, built with the envelope builders of
:mod:`tests.standins.slack_payloads`) and records the client's acks (method
``socket_mode.ack``). Connections are recorded as ``socket_mode.connect``; ``socket_disconnect``
asks the client to reconnect (Slack's ``disconnect`` message), ``socket_drop`` cuts the
connections, and ``refuse_socket_mode`` makes ``apps.connections.open`` answer an error (a
revoked token) until it is called with None.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from typing import Any

from aiohttp import web

from tests.standins import HandlerResult, RecordedRequest, StandInServer
from tests.standins.slack_ids import APP_ID

SOCKET_MODE_PATH = "/socket-mode"


class SlackSocketMode(StandInServer):
    """The Socket Mode side of ``SlackStandIn``: its route and ``apps.connections.open`` are
    wired up there."""

    def __init__(self, latency: float = 0.0) -> None:
        super().__init__(latency)
        # Socket Mode: tickets handed out by apps.connections.open, the open websockets (the
        # newest last: envelopes go there, as Slack uses one of an app's connections).
        self._socket_tickets: set[str] = set()
        self._sockets: list[web.WebSocketResponse] = []
        self._socket_refusal: str | None = None

    def refuse_socket_mode(self, error: str | None) -> None:
        """Make ``apps.connections.open`` answer ``{"ok": false, "error": error}`` from now on
        (e.g. ``invalid_auth``, ``token_revoked``); None accepts app tokens again."""
        self._socket_refusal = error

    @property
    def socket_connections(self) -> int:
        """How many Socket Mode websockets are open now."""
        return len(self._sockets)

    async def socket_connected(self, count: int = 1, timeout: float = 5.0,
                               since: int = 0) -> RecordedRequest:
        """The ``count``-th Socket Mode connection (after ``since``), once the client made it."""
        return await self.wait_for("socket_mode.connect", count=count, timeout=timeout,
                                   since=since)

    async def socket_push(self, envelope: dict[str, Any], timeout: float = 5.0) -> dict[str, Any]:
        """Send ``envelope`` over the newest Socket Mode connection and return the client's
        ack (``{"envelope_id": ..., "payload": ...}``) once it arrives.

        Raises AssertionError when no client is connected or no ack comes within ``timeout``.
        """
        envelope_id = str(envelope["envelope_id"])
        await self._in_server_loop(self._send_to_socket(json.dumps(envelope)))
        ack = await self.log.wait_for(
            lambda r: r.method == "socket_mode.ack" and r.params.get("envelope_id") == envelope_id,
            1, timeout, 0, f"ack of envelope {envelope_id}")
        return dict(ack.params)

    def socket_acks(self, envelope_id: str | None = None) -> list[dict[str, Any]]:
        """The acks received so far (of one envelope, if given), in order."""
        return [dict(r.params) for r in self.calls("socket_mode.ack")
                if envelope_id is None or r.params.get("envelope_id") == envelope_id]

    async def socket_disconnect(self, reason: str = "refresh_requested") -> None:
        """Send Slack's ``disconnect`` message: the client should open a new connection."""
        message = {"type": "disconnect", "reason": reason,
                   "debug_info": {"host": "standin-applink"}}
        await self._in_server_loop(self._send_to_socket(json.dumps(message)))

    async def socket_drop(self) -> None:
        """Close every Socket Mode connection from the server side (a network cut, a deploy)."""
        await self._in_server_loop(self._close_sockets())

    async def _in_server_loop(self, coro: Any) -> Any:
        # The websockets belong to the stand-in's loop, which may run in another thread.
        if self._loop is None or self._loop is asyncio.get_running_loop():
            return await coro
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._loop))

    async def _send_to_socket(self, text: str) -> None:
        open_sockets = [ws for ws in self._sockets if not ws.closed]
        if not open_sockets:
            raise AssertionError("no Socket Mode client is connected")
        await open_sockets[-1].send_str(text)

    async def _close_sockets(self) -> None:
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await ws.close(code=1001, message=b"going away")

    def _open_connection(self, authorization: str) -> HandlerResult:
        if not authorization.removeprefix("Bearer ").startswith("xapp-"):
            # A bot or user token where the app-level token belongs.
            return 200, {"ok": False, "error": "not_allowed_token_type"}
        if self._socket_refusal is not None:
            return 200, {"ok": False, "error": self._socket_refusal}
        ticket = uuid.uuid4().hex
        self._socket_tickets.add(ticket)
        url = f"ws://127.0.0.1:{self._port}{SOCKET_MODE_PATH}?ticket={ticket}&app_id={APP_ID}"
        return 200, {"ok": True, "url": url}

    def _record_socket(self, method: str, params: dict[str, Any]) -> None:
        self.log.add(RecordedRequest(
            index=-1, method=method, params=params, headers={}, http_method="WS",
            path=SOCKET_MODE_PATH, status=200, response=None, received_at=time.monotonic()))

    async def _on_socket(self, request: web.Request) -> web.StreamResponse:
        """A Socket Mode websocket: ``hello`` first, then envelopes out and acks in."""
        ticket = request.query.get("ticket", "")
        if ticket not in self._socket_tickets:
            return web.json_response({"ok": False, "error": "invalid_ticket"}, status=401)
        ws = web.WebSocketResponse()  # answers the client's pings itself
        await ws.prepare(request)
        self._sockets.append(ws)
        self._record_socket("socket_mode.connect", {"ticket": ticket})
        try:
            await ws.send_str(json.dumps({
                "type": "hello", "num_connections": len(self._sockets),
                "debug_info": {"host": "standin-applink", "build_number": 1,
                               "approximate_connection_time": 3600},
                "connection_info": {"app_id": APP_ID},
            }))
            async for message in ws:
                if message.type != web.WSMsgType.TEXT:
                    continue
                try:
                    data = json.loads(message.data)
                except ValueError:
                    data = None
                if isinstance(data, dict) and "envelope_id" in data:
                    self._record_socket("socket_mode.ack", data)
                else:
                    self._record_socket("socket_mode.unexpected", {"data": message.data})
        finally:
            self._sockets.remove(ws)
            self._record_socket("socket_mode.disconnect", {"ticket": ticket})
        return ws

    async def stop(self) -> None:
        # Open websockets would hold the server's shutdown until they time out.
        await self._close_sockets()
        await super().stop()
