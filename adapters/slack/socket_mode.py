"""Slack Socket Mode (development): Slack pushes events, button presses and slash commands
over a websocket the app opens, so no public URL is needed; the same bolt app handles them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)

# Errors of apps.connections.open that mean "try again later"; any other error Slack answers
# (invalid_auth, token_revoked, not_allowed_token_type...) means the token will never work.
_TRANSIENT_SLACK_ERRORS = frozenset({"ratelimited", "internal_error", "fatal_error",
                                     "service_unavailable", "request_timeout"})
#: Seconds between the Socket Mode client's pings (slack_sdk's default is 10); a connection
#: silent for four of them is taken as lost and replaced.
SOCKET_MODE_PING_INTERVAL = 10.0


def _slack_api_error(exc: BaseException | None) -> SlackApiError | None:
    """The Web API error behind ``exc``: itself, or what it was raised from or while
    handling (a few links deep), else None."""
    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, SlackApiError):
            return exc
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return None


def _slack_error(exc: BaseException) -> str | None:
    """The ``error`` of a Web API answer ``{"ok": false, ...}`` given with HTTP 200, else None
    (HTTP errors, network failures)."""
    api_error = _slack_api_error(exc)
    if api_error is None or api_error.response.status_code != 200:
        return None
    error = api_error.response.get("error")
    return str(error) if error else None


def _describe(exc: BaseException) -> str:
    """A short reason for a failed Slack call, for the log and /readyz."""
    api_error = _slack_api_error(exc)
    if api_error is not None:
        return str(_slack_error(api_error) or f"HTTP {api_error.response.status_code}")
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:300]


class SocketModeRefused(RuntimeError):
    """Slack refused a Socket Mode connection for the configured SLACK_APP_TOKEN."""


class SlackSocketMode:
    """Slack Socket Mode (development): events, button presses and slash commands arrive over a
    websocket the app opens, so no public URL is needed. The same bolt app handles them.

    Failing loudly: at start one ``apps.connections.open`` call tells a token Slack refuses
    (wrong, revoked, a bot token where the app-level one belongs) from an outage. A refused
    token stops the server with a clear message (nothing would ever arrive); an outage is
    logged and slack_sdk keeps trying. Either way, and whenever a later connection is lost,
    /readyz answers 503 with the last error until the websocket is up again (slack_sdk
    reconnects by itself).
    """

    def __init__(self, bolt: Any, app_token: str, ping_interval: float | None = None) -> None:
        self.bolt = bolt
        self.app_token = app_token
        self.ping_interval = ping_interval
        self.last_error: str | None = None
        self._handler: Any = None
        self._connecting: asyncio.Task[None] | None = None
        # A logger of its own (outside the registry, propagating to this module's) so that its
        # filter sees the errors of this connection only: they explain a failed readiness.
        self._logger = logging.Logger(f"{__name__}.socket_mode")
        self._logger.parent = log
        self._logger.addFilter(self._remember_error)

    def _remember_error(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            failure = record.exc_info[1] if record.exc_info else None
            self.last_error = (_describe(failure) if failure is not None
                               else " ".join(record.getMessage().split())[:300])
        return True  # a filter here only watches; the record is logged as usual

    async def start(self) -> None:
        """Check the token and open the connection (in the background: slack_sdk retries)."""
        interval = SOCKET_MODE_PING_INTERVAL if self.ping_interval is None else self.ping_interval
        self._handler = handler = AsyncSocketModeHandler(
            self.bolt, self.app_token, logger=self._logger, ping_interval=interval)
        client = handler.client
        try:
            # The URL is kept for the first connection, as slack_sdk would have asked for it.
            client.wss_uri = await client.issue_new_wss_url()
        except Exception as exc:  # any failure: refused token, Slack down, network
            error = _slack_error(exc)
            if error is not None and error not in _TRANSIENT_SLACK_ERRORS:
                await self.close()
                message = (
                    f"Slack Socket Mode refused: apps.connections.open answered {error!r}. "
                    "SLACK_APP_TOKEN must be an app-level token (xapp-...) of this Slack app "
                    "with the connections:write scope, and Socket Mode must be enabled for "
                    "the app.")
                log.error(message)
                raise SocketModeRefused(message) from None
            self.last_error = f"apps.connections.open failed: {_describe(exc)}"
            log.error("Slack Socket Mode is not connected yet (%s); retrying every %ss",
                      self.last_error, interval)
        # connect() returns once the websocket is up; until then it retries by itself.
        self._connecting = asyncio.create_task(client.connect())  # type: ignore[no-untyped-call]

    async def readiness(self) -> str:
        """``ok`` while the websocket is up, else why not (for /readyz)."""
        if self._handler is not None and await self._handler.client.is_connected():
            return "ok"
        return f"error: Slack Socket Mode not connected ({self.last_error or 'connecting'})"

    async def close(self) -> None:
        """Stop connecting, close the websocket and the client's HTTP session."""
        if self._connecting is not None:
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._connecting
            self._connecting = None
        handler, self._handler = self._handler, None
        if handler is not None:
            await handler.close_async()
