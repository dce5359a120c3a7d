"""What a seller typed in the web chat is processed even when nobody sends it again.

The panel stores the seller's line, then hands the message to the engine; if that fails (the
database went away, the process died), the panel sends the same message id again for about
half a minute, and the engine's claim processes it once. A browser closed during that time
would leave a line that shows as sent and was never processed: no platform redelivers a web
chat message. So the server looks, now and then, for lines whose event is not done, written
after the panel has given up (``grace``), and hands them to the engine itself. The engine's
claim keeps each message once: a retry from the panel and the recovery cannot both process
it, and a message done meanwhile is dropped as a replay.

Only the last line a seller wrote in a chat is recovered: one followed by another was seen as
failed by a seller who was still there and went on (typed it again, or something else), so
processing it late would repeat it or answer out of turn. And each line is handed over once
per process: a turn that fails inside the engine is answered with an apology and gives its
claim back, and handing it over again and again would repeat the apology. A turn the database
failed (the engine raises then, with no apology) or another attempt still held is tried
again at the next look.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from adapters.web.chat_parts import WebChatParts, message_of_line
from bot.inbound_claims import EventInProgress
from bot.web_chat import RECOVERY_MAX_AGE, seller_of_address

log = logging.getLogger(__name__)

#: Longer than the panel's own retries (chat.js: 6 tries over about 31 s).
RECOVERY_GRACE = timedelta(seconds=60)
RECOVERY_POLL_SECONDS = 15.0
# Lines read per look (those this process tried already are among them, skipped).
RECOVERY_BATCH = 100


@dataclass
class WebChatRecovery:
    parts: WebChatParts
    grace: timedelta = RECOVERY_GRACE
    max_age: timedelta = RECOVERY_MAX_AGE
    poll_seconds: float = RECOVERY_POLL_SECONDS
    _task: asyncio.Task[None] | None = field(default=None, repr=False)
    # Client message ids handed over by this process, with when (forgotten after max_age).
    _tried: dict[str, datetime] = field(default_factory=dict, repr=False)

    async def recover_once(self) -> int:
        """Hand the unprocessed lines to the engine; how many were processed now."""
        p = self.parts
        now = p.now()
        lines = await asyncio.to_thread(p.store.unprocessed_seller_lines, now - self.grace,
                                        now - self.max_age, RECOVERY_BATCH)
        self._tried = {key: when for key, when in self._tried.items()
                       if when > now - self.max_age}
        processed = 0
        for address, client_id, line in lines:
            seller_id = seller_of_address(address)
            if seller_id is None or client_id in self._tried:
                continue
            self._tried[client_id] = now
            try:
                identity = await asyncio.to_thread(p.ensure_identity, seller_id)
                if identity is None:
                    continue  # the seller is gone
                log.info("web chat message %s of seller %s was not processed; processing it",
                         client_id, seller_id)
                await p.handle(message_of_line(seller_id, client_id, line.payload,
                                               identity.display_name))
                processed += 1
            except EventInProgress:
                # Another attempt holds it: done by it, or taken over at the next look.
                self._tried.pop(client_id, None)
            except Exception:
                # The database failed (a turn that fails otherwise is answered, not raised).
                self._tried.pop(client_id, None)
                log.warning("web chat message %s of seller %s could not be processed; tried "
                            "again in %ss", client_id, seller_id, self.poll_seconds,
                            exc_info=True)
        return processed

    async def _loop(self) -> None:
        while True:
            try:
                await self.recover_once()
            except Exception:
                log.warning("could not look for unprocessed web chat messages", exc_info=True)
            await asyncio.sleep(self.poll_seconds)

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="web-chat-recovery")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
