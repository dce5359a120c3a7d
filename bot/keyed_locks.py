"""One asyncio lock per key (a seller in a chat), kept while anybody holds or waits for it.

A lock may only be forgotten when no turn holds it and none waits for it. ``Lock.locked()``
cannot tell: between a release and the waiter's wake-up the lock reads as free, and forgetting
it then let a third message take a new lock and run beside the waiting one (both loaded the
same dialogue state and the last save won). So each key counts its users."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


@dataclass
class _Held:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0  # holding or waiting


class KeyedLocks:
    def __init__(self) -> None:
        self._held: dict[Hashable, _Held] = {}

    @asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        """Run the block alone for ``key``, after the holders and waiters before it."""
        held = self._held.setdefault(key, _Held())
        held.users += 1
        try:
            async with held.lock:
                yield
        finally:
            # Also when cancelled while waiting: the count must not keep the key for ever.
            held.users -= 1
            if held.users == 0:
                del self._held[key]

    def __len__(self) -> int:
        """Keys in use (a test checks none is left behind)."""
        return len(self._held)
