"""Where a message goes: commands, buttons, the running flow, or a fresh reading by the NLU.

Order matters: a command or button always wins; then the flow that is waiting for an answer;
then the free-text reading (platform reply -> conversation intents -> case number -> the
ongoing case -> a new issue -> ask).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot import domain as d
from bot.dialogue import (
    actions,
    appeal,
    evaluation,
    followup,
    intake,
    registration,
    smalltalk,
    status,
    triage,
)
from bot.dialogue.common import CANCEL, CASES, NEW, is_cancel, is_no, is_yes, plain
from bot.dialogue.turn import Turn
from bot.identifiers import normalise_case_number
from bot.labels import CASE_TYPES

FlowText = Callable[[Turn], Awaitable[bool]]
FLOW_TEXT: dict[str, FlowText] = {
    intake.FLOW: intake.on_text,
    appeal.FLOW: appeal.on_text,
    triage.FLOW: triage.on_text,
    followup.FLOW: followup.on_text,
    evaluation.FLOW: evaluation.on_text,
}
# A message this short that carries a case number is a question about that case, not content.
_LOOKUP_WORDS = 3
_SMALLTALK_MAX_WORDS = 8


async def route(turn: Turn) -> None:
    msg = turn.msg
    if msg.command:
        await on_command(turn, msg.command.strip().lower().lstrip("/"), msg.command_args or "")
        return
    payload = msg.button or match_offered(turn)
    if payload:
        await on_button(turn, payload)
        return
    if turn.seller is None:
        await registration.on_text(turn)
        return
    if not turn.text and not msg.attachments:
        smalltalk.empty(turn)
        return
    handler = FLOW_TEXT.get(turn.state.flow or "")
    if handler is not None and await handler(turn):
        return
    await free_text(turn)


def match_offered(turn: Turn) -> str | None:
    """Typing a button's label (or its number) works like pressing it."""
    offered = turn.state.offered()
    if not offered or not turn.text or len(turn.text) > 80:
        return None
    typed = plain(turn.text)
    for button in offered:
        if typed and typed == plain(button.label):
            return button.payload
    if typed.isdigit() and 1 <= int(typed) <= len(offered) and len(typed) == 1:
        return offered[int(typed) - 1].payload
    return None


# Commands ------------------------------------------------------------------------------------
async def on_command(turn: Turn, command: str, args: str) -> None:
    if command == "start":
        await registration.on_start(turn, args)
        return
    if turn.seller is None:
        registration.welcome_unregistered(turn)
        return
    if command == "help":
        smalltalk.help_(turn)
    elif command == "new":
        turn.state.end()
        await triage.offer_types(turn, "", [], None)
    elif command == "cases":
        await status.show_list(turn, args.strip() or None)
    elif command == "case":
        if not args.strip():
            await status.show_list(turn)
            return
        number = normalise_case_number(args.strip(), turn.config.case_prefix)
        if number is None:
            turn.say("case.bad_number", text=args.strip()[:40], prefix=turn.config.case_prefix)
            return
        await status.show_case(turn, number)
    elif command == "cancel":
        _cancel(turn)
    else:
        smalltalk.unknown_command(turn, command)


def _cancel(turn: Turn) -> None:
    if turn.state.flow:
        turn.state.end()
        turn.say("flow.cancelled")
    else:
        turn.say("flow.nothing_to_cancel")


# Buttons -------------------------------------------------------------------------------------
async def on_button(turn: Turn, payload: str) -> None:
    if payload in (registration.REQUEST, registration.HAVE_CODE):
        await registration.on_button(turn, payload)
        return
    if turn.seller is None:
        registration.welcome_unregistered(turn)
        return
    head = payload.split(":", 1)[0]
    handled = True
    if payload == NEW:
        turn.state.end()
        await triage.offer_types(turn, "", [], None)
    elif payload == CASES:
        await status.show_list(turn)
    elif head == "case":
        await status.show_case(turn, payload.removeprefix(status.CASE_PREFIX))
    elif head == "type":
        await triage.on_button(turn, payload)
    elif head == "eval":
        handled = await evaluation.on_button(turn, payload)
    elif head == "pick":
        handled = await followup.on_button(turn, payload)
    elif head in actions.HANDLERS:
        handled = await actions.on_button(turn, payload)
    elif turn.state.flow == appeal.FLOW:
        handled = await appeal.on_button(turn, payload)
    elif turn.state.flow == intake.FLOW:
        handled = await intake.on_button(turn, payload)
    elif payload == CANCEL:
        _cancel(turn)
    else:
        handled = False
    if not handled:
        smalltalk.stale_button(turn)


# Free text -----------------------------------------------------------------------------------
async def free_text(turn: Turn) -> None:
    c = await turn.nlu()
    text, att = turn.text, turn.attachments()
    intent = await turn.intent()
    number = await turn.case_number()
    order = await turn.order_id()

    if turn.msg.reply_to_message_id:
        replied = await _replied_case(turn)
        if replied is not None:
            number = replied
            if intent not in _CASE_ACTIONS:
                await followup.add(turn, replied, text, att)
                return

    action = _CASE_ACTIONS.get(intent or "")
    if action is not None:
        if intent == "check_status" and number is None and order:
            await status.show_list(turn, order)
        else:
            await action(turn, number)
        return
    if intent == "cancel" and await is_cancel(turn):
        _cancel(turn)
        return
    short = turn.word_count() <= _SMALLTALK_MAX_WORDS and not att
    if short and intent in _SMALLTALK:
        _SMALLTALK[intent](turn)
        return
    level = evaluation.level_from_text(text) if text else None
    if level is not None and await evaluation.typed_level(turn, level):
        return
    if short and (await is_yes(turn) or await is_no(turn)):
        smalltalk.nothing_to_confirm(turn)
        return
    if number is not None:
        if turn.word_count() <= _LOOKUP_WORDS and not att:
            await status.show_case(turn, number)
        else:
            await followup.add(turn, number, text, att)
        return

    case_type = intent if intent in CASE_TYPES else None
    current = turn.current_case()
    if current is not None and (case_type is None or case_type == current[1]) and (
            intent != "out_of_scope" or turn.word_count() > _LOOKUP_WORDS or att):
        # The ongoing case conversation: this is more for that case.
        if not await followup.add(turn, current[0], text, att):
            turn.state.forget_case()
        return
    if current is not None and case_type is not None:
        # Mid-conversation, a message that reads like another type of issue: ask, don't guess.
        await followup.ask_which(turn, [current[0]], text, att, case_type, order)
        return
    if case_type is not None:
        await intake.begin(turn, case_type, text, order, att)
        return
    if intent == "out_of_scope" and not att:
        smalltalk.out_of_scope(turn)
        return
    # Unclear, and the seller has active cases: ask which (or a new issue) rather than guess.
    candidates = await _candidate_cases(turn)
    if candidates:
        await followup.ask_which(turn, candidates, text, att, None, order)
        return
    await triage.offer_types(turn, text, att, order, nlu_down=not c.available)


async def _replied_case(turn: Turn) -> str | None:
    from bot.dialogue.lookups import case_for_platform_message

    return await turn.call(case_for_platform_message, turn.deps.uow_factory, turn.msg.channel,
                           turn.msg.address, str(turn.msg.reply_to_message_id), turn.seller_id)


async def _candidate_cases(turn: Turn) -> list[str]:
    """The seller's active cases, those waiting on the seller (pending, or with unread agent
    replies) first: a message nobody can place is most likely an answer to one of those."""
    summaries = await turn.call(turn.cases.list_cases, turn.seller_id, "active", None,
                                turn.config.list_limit)
    waiting = [s.case.number for s in summaries if s.case.status == d.PENDING or s.unread > 0]
    others = [s.case.number for s in summaries if s.case.number not in waiting]
    return (waiting + others)[: actions.MAX_CHOICES]


async def _status(turn: Turn, number: str | None) -> None:
    await status.check(turn, number)


_CASE_ACTIONS: dict[str, Callable[[Turn, str | None], Awaitable[None]]] = {
    "check_status": _status,
    "reopen_case": actions.reopen,
    "flag_urgent": actions.urgent,
    "keep_open": actions.keep_open,
    "talk_to_human": actions.human,
}
_SMALLTALK: dict[str, Callable[[Turn], None]] = {
    "greet": smalltalk.greet,
    "thank": smalltalk.thank,
    "goodbye": smalltalk.goodbye,
    "help": smalltalk.help_,
}
