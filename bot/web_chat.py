"""The web channel: a seller's chat panel on the portal talks to the same engine as Telegram.

The portal session says who the seller is; the chat is an identity of channel ``web`` linked
to that seller (one per seller, so a main account and its sub-accounts chat apart). What the
bot and the agents say reaches it through the outbox like every platform: the web sender
stores each delivered item as a line of the chat (once per item), and the browsers connected
to that chat read the lines after the last one they have. What the seller types is stored
as a line too (once per client message id), so a page opened later shows the conversation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.domain import Identity
from bot.ports import UnitOfWorkFactory

WEB = "web"
BOT_LINE = "bot"
SELLER_LINE = "seller"


_ADDRESS_PREFIX = "seller-"
#: How far back the server's recovery (adapters.web.chat_recovery) looks for web chat lines
#: left unprocessed: a day-old question answered now helps nobody. The claims that say a line
#: was done must outlive this (FRONTDOOR_CLAIM_RETENTION_DAYS, 7 days by default):
#: frontdoor.settings refuses a shorter retention.
RECOVERY_MAX_AGE = timedelta(days=1)


def web_address(seller_id: int) -> str:
    """The web chat's address (and platform user id) of a seller."""
    return f"{_ADDRESS_PREFIX}{seller_id}"


def seller_of_address(address: str) -> int | None:
    """The seller whose web chat ``address`` is (``web_address`` read back), else None."""
    number = address.removeprefix(_ADDRESS_PREFIX)
    return int(number) if address.startswith(_ADDRESS_PREFIX) and number.isdigit() else None


@dataclass(frozen=True)
class WebChatLine:
    """One line of a web chat, as browsers receive it (``id`` orders them)."""

    id: int
    author: str  # BOT_LINE | SELLER_LINE
    payload: dict[str, Any]
    created_at: datetime

    @property
    def case_message_id(self) -> int | None:
        """The agent reply this line shows, if it is one (shown means read)."""
        value = self.payload.get("case_message_id")
        return value if isinstance(value, int) else None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "author": self.author, "created_at": self.created_at.isoformat(),
                **self.payload}


class WebChatStore(Protocol):
    """Where web chat lines are kept (storage/web_chat_store.py)."""

    def add_bot_line(self, outbox_id: int, address: str, payload: dict[str, Any],
                     now: datetime) -> int:
        """Store a delivered outbox item's line; the existing line's id if it was stored."""
        ...

    def add_seller_line(self, address: str, client_id: str, payload: dict[str, Any],
                        now: datetime) -> bool:
        """Store what the seller typed; False if this client message id is there already."""
        ...

    def seller_line(self, address: str, client_id: str) -> WebChatLine | None:
        """The line stored for this client message id of this chat, if there is one."""
        ...

    def unprocessed_seller_lines(self, written_before: datetime, written_after: datetime,
                                 limit: int) -> Sequence[tuple[str, str, WebChatLine]]:
        """What sellers typed between the two times whose event is not done (no claim, or
        one still leased) and after which they typed nothing more in that chat: (address,
        client message id, line), oldest first."""
        ...

    def delete_lines_before(self, cutoff: datetime, limit: int) -> int:
        """Delete up to ``limit`` of the oldest lines created before ``cutoff`` (any chat);
        how many were deleted."""
        ...

    def lines_after(self, address: str, after_id: int, limit: int) -> Sequence[WebChatLine]:
        """The chat's lines with an id above ``after_id``, oldest first."""
        ...

    def last_lines(self, address: str, limit: int) -> Sequence[WebChatLine]:
        """The chat's latest ``limit`` lines, oldest first."""
        ...

    def replies_on_lines(self, address: str, line_ids: Sequence[int]) -> list[int]:
        """The agent replies (case message ids) that these lines of this chat show."""
        ...

    def mark_replies_read(self, case_message_ids: Sequence[int], now: datetime) -> int:
        """Agent replies the seller saw in the panel are read (like a chat's)."""
        ...


def ensure_web_identity(uow_factory: UnitOfWorkFactory, seller_id: int,
                        now: datetime) -> Identity | None:
    """The seller's web chat identity, created and linked on first use; None if there is no
    such seller."""
    address = web_address(seller_id)
    with uow_factory() as uow:
        seller = uow.sellers.get(seller_id)
        if seller is None:
            return None
        identity = uow.identities.ensure(WEB, address, address, seller.display_name, now)
        if identity.seller_id != seller_id:
            uow.identities.link_seller(identity.id, seller_id)
            identity = uow.identities.get(identity.id) or identity
        uow.commit()
    return identity


@dataclass(frozen=True)
class WebChatRetention:
    """Deletes web chat lines older than ``keep`` (FRONTDOOR_WEB_CHAT_RETENTION_DAYS).

    The lines are a copy for the browser: the cases keep the conversation (messages, events),
    so an old line is only history the panel shows on opening. Each batch is one short
    set-based delete of the oldest lines; a run stops after ``max_batches``, leaving the rest
    to the next run, so a first run over a large backlog never holds the table for long.
    """

    store: WebChatStore
    keep: timedelta
    batch: int = 1000
    max_batches: int = 20

    def run(self, now: datetime) -> int:
        """Delete what is due (bounded); how many lines were deleted."""
        cutoff = now - self.keep
        deleted = 0
        for _ in range(self.max_batches):
            done = self.store.delete_lines_before(cutoff, self.batch)
            deleted += done
            if done < self.batch:
                break
        return deleted
