"""The seller closes their own case: "close CX-000004", "I solved it myself", or the "Close
this case" button. The case meant is found (the number, the case the seller replied to, the
one being talked about, the only open one, or asked with buttons); the seller confirms, by
button or a typed yes or no; then the rules close it and tell the thread
(bot.case_rules.withdrawal)."""

from __future__ import annotations

from bot import domain as d
from bot.case_rules.withdrawal import SELLER_CLOSABLE, WITHDRAWABLE
from bot.dialogue.common import is_no, is_yes, refusal
from bot.dialogue.drafts import ClosingDraft, closing_draft
from bot.dialogue.turn import Turn
from bot.errors import CaseRuleError
from bot.messages import Button
from bot.texts import case_title, t

FLOW = "close"
ASK, YES, NO = "close", "closeyes", "closeno"
HEADS: frozenset[str] = frozenset({ASK, YES, NO})
# "close CX-000004" is a command; longer requests carry words worth keeping in the case.
COMMAND_WORDS = 5
MAX_CHOICES = 5


async def _target(turn: Turn, explicit: str | None) -> str | None:
    """The case meant, or None after asking which (or saying there is none)."""
    if explicit:
        return explicit
    if turn.msg.reply_to_message_id:
        replied = await turn.call(turn.cases.case_for_platform_message, turn.msg.channel,
                                  turn.msg.address, str(turn.msg.reply_to_message_id),
                                  turn.seller_id)
        if replied is not None:
            return replied
    summaries = await turn.call(turn.cases.list_cases, turn.seller_id, "active", None, 50)
    open_cases = [s.case.number for s in summaries if s.case.status in SELLER_CLOSABLE]
    current = turn.current_case()
    if current is not None and current[0] in open_cases:
        return current[0]
    if len(open_cases) == 1:
        return open_cases[0]
    if not open_cases:
        turn.say("close.no_case")
        return None
    turn.say("close.which", buttons=tuple(
        Button(t("button.close_n", number=n), f"{ASK}:{n}") for n in open_cases[:MAX_CHOICES]))
    return None


async def ask(turn: Turn, explicit: str | None, keep_words: bool = False) -> None:
    """Confirm before closing. ``keep_words``: the seller's message goes into the case."""
    number = await _target(turn, explicit)
    if number is None:
        return
    try:
        detail = await turn.call(turn.cases.get_case, number, turn.seller_id)
    except CaseRuleError as err:
        refusal(turn, err, number)
        return
    case = detail.case
    if case.status not in SELLER_CLOSABLE:
        turn.say("close.already_closed" if case.status == d.CLOSED else "refused.transition",
                 number=case.number, case_number=case.number)
        return
    words = turn.text if keep_words and not turn.msg.button else ""
    turn.state.start(FLOW, "confirm", ClosingDraft(number=case.number, words=words))
    key = "close.confirm_withdraw" if case.status in WITHDRAWABLE else "close.confirm_close"
    turn.say(key, number=case.number, title=case_title(case), case_number=case.number, buttons=(
        Button(t("button.close_yes"), f"{YES}:{case.number}"),
        Button(t("button.close_no"), f"{NO}:{case.number}"),
    ))


async def _close(turn: Turn, number: str) -> None:
    data = closing_draft(turn.state) if turn.state.at(FLOW) else ClosingDraft()
    words = str(data.get("words") or "") if data.get("number") == number else ""
    turn.state.end()
    try:
        result = await turn.call(turn.cases.close_by_seller, turn.seller_id, number, words)
    except CaseRuleError as err:
        refusal(turn, err, number)
        return
    case = result.case
    turn.say("close.done_withdrawn" if result.withdrawn else "close.done_closed",
             number=case.number, case_number=case.number)
    current = turn.current_case()
    if current is not None and current[0] == case.number:
        turn.state.forget_case()


def _keep(turn: Turn, number: str) -> None:
    turn.state.end()
    turn.say("close.kept", number=number, case_number=number)


async def on_button(turn: Turn, payload: str) -> bool:
    """``close:CX-…`` asks to confirm; ``closeyes:CX-…`` closes; ``closeno:CX-…`` keeps."""
    head, _, number = payload.partition(":")
    if head not in HEADS or not number:
        return False
    if head == ASK:
        await ask(turn, number)
    elif head == YES:
        await _close(turn, number)
    else:
        _keep(turn, number)
    return True


async def on_text(turn: Turn) -> bool:
    """A typed yes or no to "Close CX-…?"; anything else leaves the question unanswered."""
    if not turn.state.at(FLOW, "confirm"):
        return False
    number = str(closing_draft(turn.state).get("number") or "")
    if number and await is_yes(turn):
        await _close(turn, number)
        return True
    if number and await is_no(turn):
        _keep(turn, number)
        return True
    turn.state.end()
    return False
