"""Worker threads lent to seller turns, one to each turn in progress.

A turn is one database transaction (bot.engine): once it has written, its transaction holds
SQLite's write turn or PostgreSQL row locks across the flow's awaits. Its calls can't wait in
a shared pool's queue, since other turns' calls waiting for those locks could hold every
thread of the pool; so a turn has a thread of its own. Starting a thread for every turn costs
more than the turn's own statements, so threads given back are kept for the next turns.

Used from the event loop's thread only.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

# Idle threads kept for the next turns; a burst of more turns at once starts more, and the
# extra ones end when given back.
KEEP_IDLE = 32


class TurnThreads:
    def __init__(self, keep_idle: int = KEEP_IDLE) -> None:
        self._idle: list[ThreadPoolExecutor] = []
        self._keep_idle = keep_idle

    def lend(self) -> ThreadPoolExecutor:
        """A single worker thread, for one turn's calls in order."""
        if self._idle:
            return self._idle.pop()
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="frontdoor-turn")

    def give_back(self, thread: ThreadPoolExecutor) -> None:
        """The turn is over; its last call may still be queued on the thread, and the next
        turn's calls run after it."""
        if len(self._idle) < self._keep_idle:
            self._idle.append(thread)
        else:
            thread.shutdown(wait=False)

    def close(self) -> None:
        idle, self._idle = self._idle, []
        for thread in idle:
            thread.shutdown(wait=False)

    def __len__(self) -> int:
        return len(self._idle)
