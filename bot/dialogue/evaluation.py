"""Evaluation after resolution (rule 6): three levels as buttons (``eval:<CASE>:<level>``,
sent by the case rules when a case is resolved), a reason for the two lower ones, once per
case, within the window after resolution."""

from __future__ import annotations

from datetime import timedelta

from bot import domain as d
from bot.dialogue.common import is_cancel, plain, refusal
from bot.dialogue.turn import Turn
from bot.errors import CaseRuleError, EvaluationRefused, InvalidInput
from bot.texts import EVALUATION_LABELS

FLOW = "evaluation"
PREFIX = "eval:"


def parse(payload: str) -> tuple[str, str] | None:
    """``eval:CX-000001:so_so`` -> ("CX-000001", "so_so")."""
    parts = payload.split(":")
    if len(parts) != 3 or parts[0] != "eval" or parts[2] not in d.EVALUATION_LEVELS:
        return None
    return parts[1], parts[2]


def level_from_text(text: str) -> str | None:
    """A typed evaluation label ("So-so", "worthy of a like") -> its level."""
    typed = plain(text)
    for level, label in EVALUATION_LABELS.items():
        if typed in (plain(label), plain(level.replace("_", "-")), plain(level)):
            return level
    return None


async def _may_evaluate(turn: Turn, number: str) -> bool:
    """Check first, so the seller gets a precise reason instead of a generic refusal."""
    try:
        detail = await turn.call(turn.cases.get_case, number, turn.seller_id)
    except CaseRuleError as err:
        refusal(turn, err, number)
        return False
    case = detail.case
    if detail.evaluation is not None:
        turn.say("eval.already", number=case.number)
        return False
    if case.resolved_at is None or case.status not in (d.RESOLVED, d.CLOSED):
        turn.say("eval.not_resolved", number=case.number)
        return False
    window = timedelta(days=turn.cases.rules.evaluation_days)
    if turn.deps.clock.now() > case.resolved_at + window:
        turn.say("eval.expired", number=case.number, days=turn.cases.rules.evaluation_days)
        return False
    return True


async def _record(turn: Turn, number: str, level: str, reason: str | None) -> None:
    try:
        await turn.call(turn.cases.evaluate, turn.seller_id, number, level, reason)
    except EvaluationRefused:
        turn.say("eval.refused", number=number)
        return
    except InvalidInput as err:
        if err.details.get("needs_reason"):
            turn.say("eval.ask_reason", number=number)
            return
        refusal(turn, err, number)
        return
    except CaseRuleError as err:
        refusal(turn, err, number)
        return
    turn.state.end()
    turn.say("eval.thanks_like" if level == "like" else "eval.thanks", number=number)


async def choose(turn: Turn, number: str, level: str) -> None:
    if not await _may_evaluate(turn, number):
        if turn.state.at(FLOW):
            turn.state.end()
        return
    if level in d.LEVELS_NEEDING_REASON:
        turn.state.start(FLOW, "reason", {"case": number, "level": level})
        turn.say("eval.ask_reason", number=number)
        return
    await _record(turn, number, level, None)


async def on_button(turn: Turn, payload: str) -> bool:
    parsed = parse(payload)
    if parsed is None:
        return False
    await choose(turn, *parsed)
    return True


async def on_text(turn: Turn) -> bool:
    """The reason for a lower rating."""
    if not turn.state.at(FLOW, "reason"):
        return False
    number = str(turn.state.data.get("case"))
    level = str(turn.state.data.get("level"))
    if await is_cancel(turn):
        turn.state.end()
        turn.say("eval.skipped", number=number)
        return True
    if not turn.text:
        turn.say("eval.ask_reason", number=number)
        return True
    await _record(turn, number, level, turn.text)
    return True


async def typed_level(turn: Turn, level: str) -> bool:
    """A typed level with no button pressed: rate the seller's most recently resolved case."""
    summaries = await turn.call(turn.cases.list_cases, turn.seller_id, "all", None, 20)
    window = timedelta(days=turn.cases.rules.evaluation_days)
    now = turn.deps.clock.now()
    for s in summaries:
        c = s.case
        if c.resolved_at is not None and c.status in (d.RESOLVED, d.CLOSED) \
                and now <= c.resolved_at + window:
            await choose(turn, c.number, level)
            return True
    return False
