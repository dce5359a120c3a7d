"""What a free-text message is most likely about before its words are weighed: the case of
the last message relayed to this chat outside a turn (an agent's reply, a status notice, the
evaluation prompt, a reminder) and the case of the ongoing conversation, newest first.

"The case of the last agent message relayed to this chat" is read from the outbox (see
bot.routing_port for why there, and not from a mark in the dialogue state). It counts only
if it was queued after the seller last talked about a case here, and within the follow-up
window. It is read once per turn, and only for free text: commands, buttons and answers to a
running flow never pay for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot import domain as d
from bot.dialogue.turn import Turn
from bot.messages import Button
from bot.routing_port import RelayedItem

EVAL_PREFIX = "eval:"
_MEMO = "context"
_LAST_RELAYED_MEMO = "last_relayed"


@dataclass(frozen=True)
class CaseFacts:
    number: str
    case_type: str | None
    order_id: str | None
    order_known: bool = True  # False: read from the dialogue state, which holds no order


@dataclass(frozen=True)
class Relayed:
    """The last case-bound message this chat was sent outside a turn."""

    case: CaseFacts
    outbox_id: int
    from_agent: bool
    buttons: tuple[Button, ...]
    awaiting_rating: bool  # an evaluation prompt whose case is not rated yet
    # An agent's message, or any about a case waiting for the seller (pending): a bare "yes",
    # "no" or number typed now answers it.
    expects_answer: bool = False
    # An agent's message with a question mark, or any about a case waiting for the seller
    # (the notice that follows the agent's question): "ok" answers it.
    asks: bool = False


@dataclass(frozen=True)
class Candidate:
    """A case the message may continue; ``answer_expected``: an agent just wrote in it."""

    case: CaseFacts
    answer_expected: bool


@dataclass(frozen=True)
class ConversationContext:
    relayed: Relayed | None  # only when newer than the seller's last exchange about a case
    ongoing: CaseFacts | None

    def candidates(self) -> list[Candidate]:
        """The cases the message may continue, the likeliest first."""
        found: list[Candidate] = []
        if self.relayed is not None:
            found.append(Candidate(self.relayed.case, self.relayed.from_agent))
        if self.ongoing is not None and all(c.case.number != self.ongoing.number for c in found):
            found.append(Candidate(self.ongoing, False))
        return found


async def load(turn: Turn) -> ConversationContext:
    """The context of this turn's message (read once per turn, in one query)."""
    cached = turn.memo.get(_MEMO)
    if isinstance(cached, ConversationContext):
        return cached
    item = await last_relayed(turn)
    relayed = None
    if item is not None and item.seller_id == turn.seller_id:  # else the chat changed hands
        since = turn.state.remembered_at()
        window = timedelta(hours=turn.config.followup_hours)
        # Equal times: the relayed message came after (a turn's own replies carry no case).
        fresh = turn.deps.clock.now() - item.queued_at <= window
        if fresh and (since is None or item.queued_at >= since):
            asks_rating = any(b.payload.startswith(EVAL_PREFIX) for b in item.reply.buttons)
            from_agent = item.agent_message_id is not None
            relayed = Relayed(
                CaseFacts(item.number, item.case_type, item.order_id), item.outbox_id,
                from_agent, item.reply.buttons,
                asks_rating and not item.rated and item.status in (d.RESOLVED, d.CLOSED),
                expects_answer=expects_answer(item),
                asks=(from_agent and any(mark in (item.agent_text or item.reply.text)
                                         for mark in "?？"))
                or item.status == d.PENDING)
    ongoing = None
    current = turn.current_case()
    if current is not None:
        if relayed is not None and relayed.case.number == current[0]:
            ongoing = relayed.case
        else:
            ongoing = CaseFacts(current[0], current[1], None, order_known=False)
    context = ConversationContext(relayed, ongoing)
    turn.memo[_MEMO] = context
    return context


def expects_answer(item: RelayedItem) -> bool:
    """Whether a bare answer typed after ``item`` answers it: an agent wrote it, or its case
    waits for the seller (the status notice "waiting for you" follows the agent's question)."""
    return item.agent_message_id is not None or item.status == d.PENDING


async def last_relayed(turn: Turn) -> RelayedItem | None:
    """The newest case message relayed to this chat, read at most once per turn (the router
    and the free-text reading both ask)."""
    if _LAST_RELAYED_MEMO not in turn.memo:
        turn.memo[_LAST_RELAYED_MEMO] = await turn.call(
            turn.cases.last_relayed, turn.identity.channel, turn.identity.address)
    item = turn.memo[_LAST_RELAYED_MEMO]
    return item if isinstance(item, RelayedItem) else None


async def with_orders(turn: Turn, candidates: list[Candidate]) -> list[Candidate]:
    """The candidates with their order ids read where the state did not have them (needed
    only when the message names an order)."""
    filled = []
    for candidate in candidates:
        facts = candidate.case
        if not facts.order_known:
            order = await turn.call(turn.cases.order_of, facts.number, turn.seller_id)
            facts = CaseFacts(facts.number, facts.case_type, order)
        filled.append(Candidate(facts, candidate.answer_expected))
    return filled
