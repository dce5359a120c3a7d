"""The outbox port: what the engine asks to send, and what a platform sender reports back.

Every outbound platform message is written as an outbox item in the same transaction as the
case change that caused it; a dispatcher hands due items to the sender of their destination.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

# Destinations
TELEGRAM = "telegram"
SLACK = "slack"
CONSOLE = "console"

# Kinds of item, each with its payload type in bot/outbox_payloads.py. Seller-bound kinds go
# to the seller's own channel (telegram/slack/console).
SELLER_MESSAGE = "seller.message"
SELLER_EDIT = "seller.edit"
# A file an agent shared in the case's thread, queued right after the reply's text (same
# ordering key as the seller's chat): its own item, so a failed upload retries only itself.
SELLER_FILE = "seller.file"
# An agent deleted a relayed message: take the seller's copy back (where the platform allows).
SELLER_DELETE = "seller.delete"
# Agent-bound kinds go to Slack (the agents' side).
CASE_PARENT = "agents.case_parent"
THREAD_POST = "agents.thread_post"
# A seller's file copied into the case's thread, queued right after its THREAD_POST (same
# ordering key): its own item, so a failed upload is retried without posting the text again.
THREAD_FILE = "agents.thread_file"
THREAD_REACTION = "agents.reaction"
CHANNEL_POST = "agents.channel_post"
# Who in the agents' pool can take a case now: the sender reports the pool's members and who
# is away (``extra``), and the outcome assigns the next one round robin (bot/round_robin.py).
ASSIGN_NEXT = "agents.assign_next"
# A case's parent moved to another channel (its type changed): the old parent is updated to
# say where, with a link to the new thread (``thread`` at delivery time).
PARENT_MOVED = "agents.parent_moved"
#: Kinds whose send moves a file's bytes (a download, then an upload): claimed for longer.
FILE_KINDS = frozenset({SELLER_FILE, THREAD_FILE})
ASSIGN_NEW_CASE = "new"  # a case just opened (or reopened as a new number)
ASSIGN_ESCALATION = "escalation"  # no first response by the warning: the next member


@dataclass(frozen=True)
class SellerCopy:
    """One outbox item that carries (part of) a case message to the seller: its text
    (``kind`` SELLER_MESSAGE) or one of its files (SELLER_FILE). ``status`` pending, sent,
    dead or withdrawn (taken back before it was sent); where it landed once sent."""

    item_id: int
    destination: str
    ordering_key: str
    status: str
    sent_at: datetime | None
    platform_chat_id: str | None
    platform_message_id: str | None
    kind: str


@dataclass(frozen=True)
class ThreadRef:
    """Where a case lives in Slack: the channel and the parent message's ts."""

    channel: str
    ts: str


@dataclass(frozen=True)
class OutboundItem:
    """One due outbox item, as handed to a sender.

    ``thread`` is filled by the dispatcher at delivery time from the case (None until the
    case's Slack parent has been posted), so thread posts queued before the parent still land
    in the right thread: items of one case are delivered strictly in order.

    ``recovering``: an earlier claim of this item ran out without its delivery being recorded
    (a process died, or lost the database, in the middle of the send), so the platform may
    already have it: a sender that can look (Slack) checks before sending again.

    ``queued_at``: when the item was queued; nothing sent for it can be older (a lookup of an
    earlier delivery need not look further back).

    ``attempts_before_retry``: attempts it spent before an operator requeued it as a dead
    letter (``attempts``, its budget, then starts again at 0).
    """

    id: int
    destination: str
    kind: str
    payload: dict[str, Any]
    case_id: int | None = None
    case_number: str | None = None
    attempts: int = 0
    thread: ThreadRef | None = None
    recovering: bool = False
    queued_at: datetime | None = None
    attempts_before_retry: int = 0

    @property
    def tried_before(self) -> bool:
        """Handed to a sender before, with an outcome not seen (a crash) or not certain (a
        timeout may come after the platform took it): it may already be there."""
        return self.recovering or self.attempts > 0 or self.attempts_before_retry > 0


@dataclass(frozen=True)
class DeliveryResult:
    """What a sender reports.

    ``platform_message_id``/``platform_chat_id``: where the message landed (Telegram
    message_id and chat id, Slack ts and channel). ``retry_after``: the platform asked us to
    wait (429). ``permanent``: never retry (e.g. Telegram 403, the seller blocked the bot).
    """

    ok: bool
    platform_message_id: str | None = None
    platform_chat_id: str | None = None
    retry_after: float | None = None
    permanent: bool = False
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def uses_an_attempt(self) -> bool:
        """False for a rate limit (the platform named when to come back): it says nothing
        about the item, so it must not bring the item closer to being dead-lettered. A busy
        bot meets Telegram's flood control on every chat at once; counted, a few minutes of
        it would dead-letter every reply in the queue."""
        return self.ok or self.permanent or not self.retry_after


@dataclass(frozen=True)
class Delivery:
    """One try of an item and what came of it, to be recorded: sent, due again at
    ``retry_at``, or ``dead``."""

    item: OutboundItem
    result: DeliveryResult
    now: datetime
    retry_at: datetime | None
    dead: bool

    @property
    def attempts(self) -> int:
        return attempts_after(self.item, self.result)


def attempts_after(item: OutboundItem, result: DeliveryResult) -> int:
    """The item's attempts after a try that came to ``result`` (a rate limit is not one)."""
    return item.attempts + (1 if result.uses_an_attempt else 0)


class OutboxSender(Protocol):
    """Delivers items of one destination. Must not raise for platform errors: report them."""

    destination: str

    async def deliver(self, item: OutboundItem) -> DeliveryResult: ...
