"""Where a message goes: commands, buttons, the running flow, or a fresh reading by the NLU.

Order matters: a command or button (typed labels and short answers that clearly mean one
included) always wins; then the flow that is waiting for an answer; then the free-text reading
(bot.dialogue.freetext).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.dialogue import (
    actions,
    answers,
    appeal,
    closed_case,
    closing,
    context,
    email_command,
    evaluation,
    followup,
    freetext,
    history,
    intake,
    linking,
    portal,
    registration,
    smalltalk,
    status,
    sub_accounts,
    triage,
)
from bot.dialogue.common import CANCEL, CASES, NEW, plain, type_menu
from bot.dialogue.drafts import TriageDraft
from bot.dialogue.turn import Turn
from bot.identifiers import normalise_case_number
from bot.labels import CASE_TYPES, ENTITY_ORDER_ID

FlowText = Callable[[Turn], Awaitable[bool]]
FLOW_TEXT: dict[str, FlowText] = {
    intake.FLOW: intake.on_text,
    appeal.FLOW: appeal.on_text,
    triage.FLOW: triage.on_text,
    evaluation.FLOW: evaluation.on_text,
    closing.FLOW: closing.on_text,
    sub_accounts.FLOW: sub_accounts.on_text,
}
# Choices a typed "a new issue" may mean.
_NEW_ISSUE_PAYLOADS = frozenset({followup.WHICH_CASE_NEW, intake.DUP_NEW})


async def route(turn: Turn) -> None:
    msg = turn.msg
    if msg.command:
        await on_command(turn, msg.command.strip().lower().lstrip("/"), msg.command_args or "")
        return
    payload = msg.button or await typed_choice(turn)
    if payload:
        await on_button(turn, payload)
        return
    if turn.seller is None:
        await registration.on_text(turn)
        return
    if not turn.text and not msg.attachments:
        smalltalk.empty(turn)
        return
    flow = turn.state.flow or ""
    handler = _TYPED_ANSWERS.get(flow) or FLOW_TEXT.get(flow)
    if handler is not None and not await _bare_answer_to_newer(turn) and await handler(turn):
        return
    await freetext.read(turn)


async def typed_choice(turn: Turn) -> str | None:
    """The offered button a typed answer means, unless a case message with buttons of its
    own (a rating prompt, a reminder) reached the chat after those were shown: then the
    seller is answering that, and the free-text reading takes it."""
    payload = match_offered(turn)
    if payload is None or await _asked_since(turn):
        return None
    return payload


async def _asked_since(turn: Turn) -> bool:
    """Whether a case message reached the chat after the bot's last buttons that a typed
    answer answers instead: one with buttons of its own (a rating prompt, a reminder), or an
    agent's message when the answer is a bare yes, no or number (an agent asking "did the
    buyer get the parcel?" in one case must not get its "yes" taken as the seller's answer to
    the bot's older "close CX-000001?")."""
    offered_at = turn.state.offered_at()
    if turn.seller is None or offered_at is None:
        return False
    item = await context.last_relayed(turn)
    if item is None or item.seller_id != turn.seller_id or item.queued_at <= offered_at:
        return False
    if item.reply.buttons:
        return True
    return context.expects_answer(item) and await freetext.is_bare_answer(turn)


async def _bare_answer_to_newer(turn: Turn) -> bool:
    """A bare yes, no or number typed after a newer case message than the running flow's
    question: it answers that message, so the free-text reading places it and the flow waits
    (its buttons still work)."""
    return await freetext.is_bare_answer(turn) and await _asked_since(turn)


def match_offered(turn: Turn) -> str | None:
    """Typing a button's label (or its number) works like pressing it; so do short answers
    that clearly mean one of the buttons ("the second one", "payments", "undo", "a new
    issue"): typed answers are never glued into a case as if they were content."""
    offered = turn.state.offered()
    if not offered or not turn.text or len(turn.text) > 80:
        return None
    typed = plain(turn.text)
    for button in offered:
        if typed and typed == plain(button.label):
            return button.payload
    if typed.isdigit() and 1 <= int(typed) <= len(offered) and len(typed) == 1:
        return offered[int(typed) - 1].payload
    return answers.pick(turn.text, offered, followup.UNDO_PREFIX, _NEW_ISSUE_PAYLOADS)


# Commands ------------------------------------------------------------------------------------
async def on_command(turn: Turn, command: str, args: str) -> None:
    if command == "start":
        await registration.on_start(turn, args)
        return
    if command == "link":
        await linking.on_link(turn, args)
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
        await history.show(turn, number)
    elif command == "cancel":
        _cancel(turn)
    elif command == "invite":
        await sub_accounts.on_invite(turn, args)
    elif command == email_command.COMMAND:
        await email_command.on_email(turn, args)
    elif command == portal.HEAD:
        await portal.on_web(turn, args)
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
    elif head == status.LIST_HEAD:
        handled = await status.on_button(turn, payload)
    elif head == history.HEAD:
        handled = await history.on_button(turn, payload)
    elif head in closing.HEADS:
        handled = await closing.on_button(turn, payload)
    elif head == "type":
        await triage.on_button(turn, payload)
    elif head == "eval":
        handled = await evaluation.on_button(turn, payload)
    elif head == portal.HEAD:
        handled = await portal.on_button(turn, payload)
    elif payload == sub_accounts.ASK:
        sub_accounts.on_button(turn)
    elif head == followup.FLOW:
        handled = await _which_case(turn, payload)
    elif head == "undo":
        handled = await _undo(turn, payload)
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


# "Which case?" and "Undo" ---------------------------------------------------------------------
async def _which_case(turn: Turn, payload: str) -> bool:
    """A case chosen for the kept message, or "It's a new issue": intake with what was said."""
    if payload != followup.WHICH_CASE_NEW:
        return await followup.on_button(turn, payload)
    if not turn.state.at(followup.FLOW):
        return False
    text, att, intent, order = followup.take_kept(turn)
    await triage.start_with(turn, intent, text, att, order)
    return True


async def _which_case_typed(turn: Turn) -> bool:
    payload = await followup.typed_answer(turn)
    return payload is not None and await _which_case(turn, payload)


async def _closed_case_typed(turn: Turn) -> bool:
    """A typed yes or no to "Reopen it to continue?" or "a new case about it instead?"."""
    if await _asked_since(turn):
        turn.state.end()
        return False
    payload = await closed_case.typed_answer(turn)
    if payload is None:
        return False
    await on_button(turn, payload)
    return True


async def _undo(turn: Turn, payload: str) -> bool:
    """Take a message back out of the case it was added to, then ask what it is about: a
    clear other type goes straight to intake (and its duplicate check), else the type menu."""
    withdrawn = await followup.undo(turn, payload)
    if withdrawn is None:
        return True
    msg = withdrawn.message
    c = await turn.deps.classifier.classify(msg.text) if msg.text.strip() else None
    order = c.entity(ENTITY_ORDER_ID) if c is not None else None
    confident = c is not None and c.available and c.confidence >= turn.config.nlu_threshold
    if confident and c is not None and c.intent in CASE_TYPES \
            and c.intent != withdrawn.case.case_type:
        await triage.start_with(turn, c.intent, msg.text, list(msg.attachments), order)
        return True
    ranking = [intent for intent, _conf in c.ranking] if c is not None else []
    turn.state.start(triage.FLOW, "type", TriageDraft(text=msg.text, att=list(msg.attachments),
                                                      order=order, human=False))
    turn.say("undo.what_about", buttons=type_menu(ranking, turn.config.menu_types))
    return True


# Flows whose question a typed answer may answer like a button.
_TYPED_ANSWERS: dict[str, FlowText] = {
    followup.FLOW: _which_case_typed,
    closed_case.FLOW: _closed_case_typed,
}
