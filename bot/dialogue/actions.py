"""Seller actions on an existing case: reopen (rule 3), flag urgent and keep open (rule 5),
and talk to a human. Each works with a case number, the case being talked about, or (when
several could be meant) a choice from buttons. Words typed around the action that say more
than the action go into the case for the agent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bot import domain as d
from bot import i18n
from bot.dialogue import answers, closed_case, follow_up_case, human_again
from bot.dialogue.common import refusal, type_menu
from bot.dialogue.drafts import TriageDraft
from bot.dialogue.turn import Turn
from bot.errors import CaseRuleError, InvalidTransition, ReopenWindowPassed
from bot.messages import Button
from bot.texts import t

REOPEN, URGENT, KEEP, HUMAN = "reopen", "urgent", "keep", "human"
ALLOWED: dict[str, tuple[str, ...]] = {
    REOPEN: (d.RESOLVED, d.CLOSED),
    URGENT: (d.OPEN, d.INVESTIGATING, d.PENDING),
    KEEP: (d.PENDING, d.RESOLVED),
    HUMAN: (d.OPEN, d.INVESTIGATING, d.PENDING, d.RESOLVED),
}
LABEL_KEYS = {REOPEN: "button.reopen", URGENT: "button.flag_urgent_n", KEEP: "button.keep_open_n",
              HUMAN: "button.talk_to_human_n"}
MAX_CHOICES = 5


async def _target(turn: Turn, action: str, explicit: str | None) -> str | None:
    """The case meant: explicit, the ongoing one if it fits, the only candidate, or asked."""
    if explicit:
        return explicit
    summaries = await turn.call(turn.cases.list_cases, turn.seller_id, "all", None, 50)
    candidates = [s.case for s in summaries
                  if s.case.status in ALLOWED[action] and s.case.reopened_as_id is None]
    current = turn.focus_case()
    if current and any(c.number == current[0] for c in candidates):
        return current[0]
    if len(candidates) == 1:
        return candidates[0].number
    if not candidates:
        turn.say(f"{action}.no_case", buttons=(Button(t("button.my_cases"), "cases"),))
        return None
    turn.say(f"{action}.which", buttons=tuple(
        Button(t(LABEL_KEYS[action], number=c.number), f"{action}:{c.number}")
        for c in candidates[:MAX_CHOICES]))
    return None


def _reason(turn: Turn) -> tuple[str, list[dict[str, Any]]]:
    """A typed request that says more than the action ("this is really urgent pls, I need the
    money to pay my supplier"): the message is the seller's reason, for the agent. The action's
    rule keeps it in the case in the same transaction."""
    if turn.msg.button or not (answers.carries_more(turn.text) or turn.msg.attachments):
        return "", []
    return turn.text, turn.attachments()


def _reason_kept(turn: Turn, reason: tuple[str, list[dict[str, Any]]], number: str) -> None:
    if reason[0] or reason[1]:
        turn.say("followup.words_kept", number=number, case_number=number)


async def reopen(turn: Turn, explicit: str | None) -> None:
    number = await _target(turn, REOPEN, explicit)
    if number is None:
        return
    typed = turn.text if answers.carries_more(turn.text) and not turn.msg.button else ""
    # "Reopen it to continue?" answered: the message that led to it says why (with any
    # words the answer adds).
    kept, attachments = closed_case.kept_message(turn, number)
    text = "\n".join(part for part in (kept, typed) if part)
    attachments += turn.attachments()
    try:
        result = await turn.call(turn.cases.reopen, turn.seller_id, number, text, attachments)
    except ReopenWindowPassed as err:
        follow_up_case.offer(turn, number, err.details.get("days"), text, attachments)
        return
    except CaseRuleError as err:
        refusal(turn, err, number)
        return
    if turn.state.at(closed_case.FLOW):
        turn.state.end()  # the question is answered, its message used
    case, previous = result.case, result.previous
    hours = turn.config.first_response_hours
    if result.new_case:
        turn.say("reopen.new_number", number=case.number, old=previous.number, hours=hours,
                 case_number=case.number)
    elif previous.status == d.RESOLVED:
        turn.say("reopen.back_in_progress", number=case.number, case_number=case.number)
    elif previous.number != case.number:
        # Another case on the issue is active: what the seller wrote went there.
        key = "reopen.added_to_active" if text or attachments else "reopen.already_active"
        turn.say(key, number=case.number, old=previous.number, case_number=case.number)
    else:
        turn.say("reopen.still_in_progress", number=case.number, case_number=case.number)
    turn.remember_case(case.number, case.case_type)


async def urgent(turn: Turn, explicit: str | None) -> None:
    number = await _target(turn, URGENT, explicit)
    if number is None:
        return
    reason = _reason(turn)
    try:
        case = await turn.call(turn.cases.set_urgent, number, True, d.SELLER, str(turn.seller_id),
                               seller_id=turn.seller_id, reason=reason[0],
                               reason_files=reason[1])
    except InvalidTransition:
        turn.say("urgent.not_active", number=number)
        return
    except CaseRuleError as err:
        refusal(turn, err, number)
        return
    turn.say("urgent.done", number=case.number, hours=turn.config.first_response_urgent_hours,
             case_number=case.number)
    _reason_kept(turn, reason, case.number)
    turn.remember_case(case.number, case.case_type)


async def keep_open(turn: Turn, explicit: str | None) -> None:
    number = await _target(turn, KEEP, explicit)
    if number is None:
        return
    reason = _reason(turn)
    try:
        case = await turn.call(turn.cases.keep_open, turn.seller_id, number, *reason)
    except InvalidTransition:
        turn.say("keep.in_progress", number=number)
        return
    except CaseRuleError as err:
        refusal(turn, err, number)
        return
    until = i18n.day(case.auto_close_at) if case.auto_close_at else "?"
    turn.say("keep.done", number=case.number, until=until, case_number=case.number)
    _reason_kept(turn, reason, case.number)
    turn.remember_case(case.number, case.case_type)


async def human(turn: Turn, explicit: str | None) -> None:
    if explicit is None:
        summaries = await turn.call(turn.cases.list_cases, turn.seller_id, "active", None, 50)
        if not summaries:
            # No case to hand over yet: open one first, flagged for a person.
            turn.state.start("triage", "type", TriageDraft(text="", att=[], human=True))
            turn.say("human.no_case", buttons=type_menu([], turn.config.menu_types))
            return
    number = await _target(turn, HUMAN, explicit)
    if number is None:
        return
    reason = _reason(turn)
    try:
        request = await turn.call(turn.cases.request_human, turn.seller_id, number, *reason)
    except CaseRuleError as err:
        refusal(turn, err, number)
        return
    case = request.case
    if request.first_asked_at is not None:
        # Asked before: when, and whether someone answered since; the promise is not repeated.
        human_again.say_asked_again(turn, request)
    else:
        hours = (turn.config.first_response_urgent_hours if case.urgent
                 else turn.config.first_response_hours)
        turn.say("human.requested", number=case.number, hours=hours, case_number=case.number)
    _reason_kept(turn, reason, case.number)
    turn.remember_case(case.number, case.case_type)


async def reply_to(turn: Turn, explicit: str | None) -> None:
    """"Reply now" on a reminder: the seller's next messages go to that case."""
    if explicit is None:
        return
    try:
        detail = await turn.call(turn.cases.get_case, explicit, turn.seller_id)
    except CaseRuleError as err:
        refusal(turn, err, explicit)
        return
    case = detail.case
    if case.status in (d.CLOSED, d.DECLINED):
        refusal(turn, InvalidTransition(f"{case.number} is {case.status}"), case.number)
        return
    turn.say("reply.go_ahead", number=case.number, case_number=case.number)
    turn.remember_case(case.number, case.case_type)


# The scheduler's reminders use "keep_open:" and "reply:" (bot.sweeps).
HANDLERS: dict[str, Callable[[Turn, str | None], Awaitable[None]]] = {
    REOPEN: reopen, URGENT: urgent, KEEP: keep_open, "keep_open": keep_open, HUMAN: human,
    "reply": reply_to, follow_up_case.FOLLOW: follow_up_case.start,
}


async def on_button(turn: Turn, payload: str) -> bool:
    """``reopen:CX-…``, ``urgent:CX-…``, ``keep:CX-…``, ``human:CX-…``."""
    action, _, number = payload.partition(":")
    handler = HANDLERS.get(action)
    if handler is None or not number:
        return False
    await handler(turn, number)
    return True
