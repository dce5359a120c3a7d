"""What the dialogue needs from storage to place a message in the right case: the last
case-bound message relayed to a seller's chat outside a turn, and taking back a seller message
filed in the wrong case.

Why the outbox: every agent reply, status notice, evaluation prompt and reminder is queued
there (bot.relay) with its case, in the transaction that caused it, so it already is the
record of "the last thing this chat was told about a case". The bot's own answers in a turn
are queued without a case and so never count. Reading it costs one indexed query, made only
for free text that no command, button, running flow or small talk took
(bot.dialogue.context); recording it in
the dialogue state instead would race with a turn running at the same time (the turn saves
the state it loaded, losing the mark).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.messages import Reply


@dataclass(frozen=True)
class RelayedItem:
    """A case-bound message or agent's file queued to a chat (pending or sent; never a dead
    letter), with the facts of its case the routing needs (a file's ``reply`` is empty)."""

    outbox_id: int
    queued_at: datetime
    reply: Reply
    agent_message_id: int | None  # set when it is an agent's reply
    seller_id: int
    number: str
    case_type: str | None
    order_id: str | None
    status: str
    rated: bool  # the case has an evaluation
    agent_text: str | None = None  # an agent's file: the words of the reply it came with


class RoutingRepository(Protocol):
    def last_relayed(self, destination: str, ordering_key: str) -> RelayedItem | None:
        """The newest case-bound seller message queued under ``ordering_key`` (one query)."""
        ...

    def remove_message(self, message_id: int) -> None:
        """Delete a case message and the platform refs that point at it (a withdrawn seller
        message; its words stay in the case's audit event)."""
        ...
