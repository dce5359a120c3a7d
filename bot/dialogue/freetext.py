"""Free text: a typed message that no command, button or running flow took, read afresh.

In this order, each step possibly ending the turn:

1. (After small talk.) An answer to the question last relayed to this chat outside a turn (the evaluation
   prompt, a reminder's choices): a rating in words ("terrible, nobody even answered me")
   or as its number, a choice by its number or label. A number out of range asks again.
   A bare yes or no, or a message with no words (a tracking number, "3"), after an agent's
   message the seller has not answered yet (or a notice that the case waits for the seller):
   the answer to it, filed in its case (and "ok" too, when the agent asked a question).
   Elsewhere these are never content (step 2).
2. What is never filed into a case: greetings, thanks (answered first, before anything is
   read), cancel, bare acknowledgements ("ok", "👍"), out-of-scope text, a yes or no nothing
   asked for, a message with no words ("4").
3. A case action (status, reopen, urgent, keep open, a person), on the case meant, keeping
   any words the seller wrote around it (bot.dialogue.actions).
4. A platform reply to a relayed message, or a case number in the text: that case.
5. The conversation's case (bot.dialogue.context: an agent's last message here, or the
   ongoing case): bot.dialogue.placement decides add / intake / ask.
6. No case in the conversation: intake for a clear type, else ask which case or which type.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot import domain as d
from bot.dialogue import (
    actions,
    answers,
    context,
    evaluation,
    followup,
    intake,
    phrases,
    placement,
    smalltalk,
    status,
    triage,
)
from bot.dialogue.common import is_cancel, is_no, is_yes, plain, refusal
from bot.dialogue.context import ConversationContext
from bot.dialogue.turn import Turn
from bot.errors import CaseRuleError, EvaluationRefused
from bot.labels import CASE_TYPES
from bot.messages import Button

# A message this short that carries a case number is a question about that case, not content.
_LOOKUP_WORDS = 3
_SMALLTALK_MAX_WORDS = 8


async def read(turn: Turn) -> None:
    c = await turn.nlu()
    text, att = turn.text, turn.attachments()
    intent = await turn.intent()
    number = await turn.case_number()
    order = await turn.order_id()
    if await phrases.on_text(turn, number):
        return  # "my closed cases", "close CX-000004", "I solved it myself"
    if not att and turn.word_count() <= _SMALLTALK_MAX_WORDS and intent in _SMALLTALK:
        _SMALLTALK[intent](turn)  # the commonest turns: answered without reading anything
        return
    replied = await _replied_case(turn) if turn.msg.reply_to_message_id else None
    pointer = replied or number
    ctx = await context.load(turn)

    if not att and await _answer_relayed(turn, ctx, pointer):
        return
    if not att and pointer is None and await _answer_to_agent(turn, ctx):
        return
    if not att and await _never_filed(turn, intent):
        return
    action = _CASE_ACTIONS.get(intent or "")
    if action is not None:
        candidates = ctx.candidates()
        if pointer is None and candidates:
            turn.focus = (candidates[0].case.number, candidates[0].case.case_type)
        if intent == "check_status" and pointer is None and order:
            await status.show_list(turn, order)
        else:
            await action(turn, pointer)
        return
    level = evaluation.level_from_text(text) if text else None
    if level is not None and await evaluation.typed_level(turn, level):
        return
    if pointer is not None:
        if replied is None and turn.word_count() <= _LOOKUP_WORDS and not att:
            await status.show_case(turn, pointer)
        else:
            await followup.add_to_case(turn, pointer, text, att)
        return

    case_type = intent if intent in CASE_TYPES else None
    candidates = ctx.candidates()
    if candidates and order:
        candidates = await context.with_orders(turn, candidates)
    if candidates:
        where = placement.place(candidates, case_type, order)
        if where.kind == placement.ADD and where.number is not None:
            if not await followup.add_to_case(turn, where.number, text, att):
                turn.state.forget_case()
        elif where.kind == placement.INTAKE:
            await triage.start_with(turn, where.case_type, text, att, where.order_id)
        else:
            await followup.ask_which(turn, [str(where.number)], text, att, where.case_type,
                                     where.order_id)
        return
    if case_type is not None:
        await intake.begin(turn, case_type, text, order, att)
        return
    # Unclear, and the seller has active cases: ask which (or a new issue) rather than guess.
    waiting = await _candidate_cases(turn)
    if waiting:
        await followup.ask_which(turn, waiting, text, att, None, order)
        return
    await triage.offer_types(turn, text, att, order, nlu_down=not c.available)


async def _never_filed(turn: Turn, intent: str | None) -> bool:
    """Answer what is never content for a case; False if the message may be content."""
    short = turn.word_count() <= _SMALLTALK_MAX_WORDS
    if intent == "cancel" and await is_cancel(turn):
        if turn.state.flow:
            turn.state.end()
            turn.say("flow.cancelled")
        else:
            turn.say("flow.nothing_to_cancel")
    elif answers.is_acknowledgement(turn.text):
        smalltalk.acknowledged(turn)
    elif intent == "out_of_scope":
        smalltalk.out_of_scope(turn)
    elif short and (await is_yes(turn) or await is_no(turn)):
        smalltalk.nothing_to_confirm(turn)
    elif not answers.has_words(turn.text):
        smalltalk.not_understood(turn)
    else:
        return False
    return True


async def is_bare_answer(turn: Turn) -> bool:
    """A short yes or no, or a message with no words: an answer only to what was just asked.
    A message with files is never one (a screenshot without a caption is content for the
    flow or case the seller is in)."""
    if turn.attachments():
        return False
    if not answers.has_words(turn.text):
        return True
    return turn.word_count() <= _SMALLTALK_MAX_WORDS and (await is_yes(turn) or await is_no(turn))


async def _answer_to_agent(turn: Turn, ctx: ConversationContext) -> bool:
    """A bare answer ("yes", "no, not yet", a tracking number) to the agent's last message,
    not yet answered: it is content for the agent's case, not a yes that nothing asked for."""
    asked = ctx.relayed
    if asked is None or not asked.expects_answer \
            or asked.outbox_id <= turn.state.relayed_answered():
        return False
    if answers.is_acknowledgement(turn.text):
        if not asked.asks:
            return False  # "ok" to "the refund is on its way" is no content for the case
    elif not await is_bare_answer(turn):
        return False
    turn.state.answer_relayed(asked.outbox_id)
    await followup.add_to_case(turn, asked.case.number, turn.text, [])
    return True


async def _answer_relayed(turn: Turn, ctx: ConversationContext, pointer: str | None) -> bool:
    """A typed answer to the choices last relayed to this chat (each answered once)."""
    asked = ctx.relayed
    if asked is None or not asked.buttons or asked.outbox_id <= turn.state.relayed_answered():
        return False
    if pointer is not None and pointer != asked.case.number:
        return False
    if not asked.awaiting_rating and any(b.payload.startswith(context.EVAL_PREFIX)
                                         for b in asked.buttons):
        return False  # rated already (by a button): the question is over
    number = asked.case.number
    payload = _chosen(turn.text, list(asked.buttons))
    if payload is not None:
        head = payload.split(":", 1)[0]
        if head == "eval":
            turn.state.answer_relayed(asked.outbox_id)
            return await evaluation.on_button(turn, payload)
        if head in actions.HANDLERS:
            turn.state.answer_relayed(asked.outbox_id)
            return await actions.on_button(turn, payload)
        return False
    if asked.awaiting_rating:
        rated = answers.rating(turn.text)
        stars = answers.rating_from_stars(turn.text)
        if rated is None and stars is not None:
            rated = (stars, "")
        if rated is not None:
            turn.state.answer_relayed(asked.outbox_id)
            await _rate(turn, number, *rated)
            return True
    if turn.text.strip().isdigit():
        # A number that is none of the choices: ask again rather than file "4" somewhere.
        turn.say("answer.pick_one", number=number, buttons=asked.buttons, case_number=number)
        return True
    return False


def _chosen(text: str, buttons: list[Button]) -> str | None:
    typed = plain(text)
    for button in buttons:
        if typed and typed == plain(button.label):
            return button.payload
    if typed.isdigit() and len(typed) == 1 and 1 <= int(typed) <= len(buttons):
        return buttons[int(typed) - 1].payload
    return answers.pick(text, buttons, followup.UNDO_PREFIX, frozenset())


async def _rate(turn: Turn, number: str, level: str, words: str) -> None:
    """A typed rating; words after a lower one are its reason (the seller's own words)."""
    if level in d.LEVELS_NEEDING_REASON and answers.has_words(words):
        try:
            await turn.call(turn.cases.evaluate, turn.seller_id, number, level, words,
                            evaluation.reason_from_text(words))
        except EvaluationRefused:
            turn.say("eval.refused", number=number)
            return
        except CaseRuleError as err:
            refusal(turn, err, number)
            return
        turn.say("eval.thanks", number=number, case_number=number)
        return
    await evaluation.choose(turn, number, level)  # asks for the reason with buttons


async def _replied_case(turn: Turn) -> str | None:
    return await turn.call(turn.cases.case_for_platform_message, turn.msg.channel,
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
