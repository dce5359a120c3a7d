"""SIGTERM and SIGINT as a request to stop, for the commands that start child processes
(`frontdoor serve`, `chat`, `nlu serve`): whatever they started is stopped before they end.

With the default actions, SIGTERM ends the process at once and SIGINT raises KeyboardInterrupt
wherever the main thread happens to be, so the code that stops the local Rasa server may never
run (uvicorn, which catches both, re-raises the signal after its own shutdown, which killed the
process before ours). :func:`run_until_stopped` runs ``main(stop)`` in a fresh event loop where:

- the first signal runs the current stop action. By default that cancels ``main``, so its
  ``finally`` and ``async with`` blocks run: that is where the Rasa server is stopped. Code
  *after* such a block does not run (the cancellation goes on up), so whatever must happen on
  the way out, a "stopped" line included, belongs in the ``finally``. A phase
  with its own way to stop (uvicorn's graceful shutdown) installs its action for its duration
  with :meth:`StopRequest.handled_by`;
- a repeated signal runs the phase's hurry action if it has one (uvicorn: stop waiting for
  open connections), otherwise it is reported and ignored: cleanup is bounded anyway (the
  Rasa server gets SIGKILL after its grace period) and must not be cut short;
- once ``main`` has finished, any child process still running is stopped, and the process ends
  by the signal it got (default action), so whoever sent it sees the usual status, and a
  thread still blocked on stdin (``chat``) cannot hold the exit up.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import traceback
from collections.abc import Awaitable, Callable, Iterator
from typing import NoReturn, TypeVar

from nlu import processes

T = TypeVar("T")
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)

Action = Callable[[], None]


class StopRequest:
    """Which signal asked us to stop (if any), and what a signal does in the current phase."""

    def __init__(self, on_stop: Action, out: Callable[[str], None]) -> None:
        self.signum: int | None = None
        self._on_stop = on_stop
        self._on_repeat: Action | None = None
        self._out = out

    @property
    def requested(self) -> bool:
        return self.signum is not None

    @contextlib.contextmanager
    def handled_by(self, on_stop: Action, on_repeat: Action | None = None) -> Iterator[None]:
        """For the block: a stop request runs ``on_stop`` (at once if one came already), a
        repeated one ``on_repeat``."""
        saved = self._on_stop, self._on_repeat
        self._on_stop, self._on_repeat = on_stop, on_repeat
        try:
            if self.requested:
                on_stop()
            yield
        finally:
            self._on_stop, self._on_repeat = saved

    def received(self, signum: int) -> None:
        """A stop signal arrived (runs on the event loop, not in signal context)."""
        name = signal.Signals(signum).name
        if self.signum is None:
            self.signum = signum
            self._out(f"{name} received: stopping (and everything this command started)")
            self._on_stop()
        elif self._on_repeat is not None:
            self._out(f"{name} received again: hurrying the stop")
            self._on_repeat()
        else:
            self._out(f"{name} received again: still stopping, please wait")


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def exit_by_signal(signum: int) -> NoReturn:
    """End this process by ``signum``'s default action (as if never caught)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    signal.signal(signum, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signum])
    signal.raise_signal(signum)
    os._exit(128 + signum)  # only if the signal did not end us (it is ignored by the OS?)


def run_until_stopped(main: Callable[[StopRequest], Awaitable[T]]) -> T:
    """Run ``main`` until it returns, or until SIGTERM/SIGINT; see the module docstring.

    Returns ``main``'s result when no signal came; after a signal it never returns."""

    async def runner() -> T:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None

        def cancel_main() -> None:
            task.cancel()

        stop = StopRequest(on_stop=cancel_main, out=_say)
        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, stop.received, signum)
        try:
            result = await main(stop)
        except asyncio.CancelledError:
            if not stop.requested:
                raise
        except Exception:
            if not stop.requested:
                raise
            # Failing while stopping must still end the way the signal asked, but visibly.
            traceback.print_exc()
        else:
            if not stop.requested:
                return result
        assert stop.signum is not None
        # What main's own cleanup did not stop (a cancelled training, say) is stopped here.
        await asyncio.to_thread(processes.stop_all)
        exit_by_signal(stop.signum)

    return asyncio.run(runner())
