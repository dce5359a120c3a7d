"""Check, don't ask (rule 2): live status, last reply and unread count, never a new case.

With a case number: that case (only the seller's own). Without: the seller's active cases,
newest activity first, with plain status labels and the "Updated" mark; showing them marks
the agents' replies read. A query (order id or words of the title) searches all cases.
"""

from __future__ import annotations

from bot import domain as d
from bot.dialogue.common import case_line, last_reply_line, refusal
from bot.dialogue.turn import Turn
from bot.domain import Case
from bot.errors import CaseRuleError
from bot.messages import Button
from bot.texts import t

CASE_PREFIX = "case:"
MAX_CASE_BUTTONS = 5


def case_buttons(case: Case) -> tuple[Button, ...]:
    """What a seller can do with a case in its status."""
    n = case.number
    buttons: list[Button] = []
    if case.status in (d.OPEN, d.INVESTIGATING, d.PENDING):
        if not case.urgent:
            buttons.append(Button(t("button.flag_urgent"), f"urgent:{n}"))
        if not case.needs_human:
            buttons.append(Button(t("button.talk_to_human"), f"human:{n}"))
    if case.status in (d.PENDING, d.RESOLVED):
        buttons.append(Button(t("button.keep_open"), f"keep:{n}"))
    if case.status in (d.RESOLVED, d.CLOSED):
        buttons.append(Button(t("button.reopen", number=n), f"reopen:{n}"))
    return tuple(buttons)


async def show_case(turn: Turn, number: str) -> None:
    try:
        detail = await turn.call(turn.cases.get_case, number, turn.seller_id)
    except CaseRuleError as err:
        refusal(turn, err, number)
        return
    case = detail.case
    last = next((m for m in reversed(detail.messages) if m.author_kind == d.AGENT), None)
    lines = [case_line(case, detail.unread)]
    reply_line = last_reply_line(last)
    lines.append(reply_line or t("case.no_reply_yet"))
    if detail.reopened_as:
        lines.append(t("case.reopened_as", number=detail.reopened_as))
    if detail.reopened_from:
        lines.append(t("case.reopened_from", number=detail.reopened_from))
    turn.say("case.detail", text="\n".join(lines), buttons=case_buttons(case),
             case_number=case.number)
    if detail.unread:
        await turn.call(turn.cases.mark_read, turn.seller_id, [case.number])
    if case.is_active:
        turn.remember_case(case.number, case.case_type)


async def show_list(turn: Turn, query: str | None = None) -> None:
    """The seller's active cases, or those matching ``query`` (any status)."""
    limit = turn.config.list_limit
    summaries = await turn.call(turn.cases.list_cases, turn.seller_id,
                                "all" if query else "active", query, limit)
    if not summaries:
        if query:
            turn.say("status.none_matching", query=query)
        else:
            turn.say("status.none_active")
        return
    ordered = summaries  # newest activity first, as the rules list them
    blocks = []
    for s in ordered:
        block = case_line(s.case, s.unread)
        last = last_reply_line(s.last_reply)
        if last:
            block += "\n" + last
        blocks.append(block)
    title = (t("status.matching", query=query, count=len(ordered)) if query
             else t("status.active_title", count=len(ordered)))
    buttons = tuple(Button(s.case.number, f"{CASE_PREFIX}{s.case.number}")
                    for s in ordered[:MAX_CASE_BUTTONS])
    turn.say("status.list", title=title, text="\n\n".join(blocks), buttons=buttons)
    read = [s.case.number for s in ordered if s.unread]
    if read:
        await turn.call(turn.cases.mark_read, turn.seller_id, read)
    if len(ordered) == 1 and ordered[0].case.is_active:
        turn.remember_case(ordered[0].case.number, ordered[0].case.case_type)


async def check(turn: Turn, number: str | None, query: str | None = None) -> None:
    """The status entry point (typed question, ``/cases``, ``/case``)."""
    if number:
        await show_case(turn, number)
    else:
        await show_list(turn, query)
