"""Follow-up messages: what a seller writes about a case already open goes into that case.

The case is known from a platform reply to a relayed message, a case number in the text, the
conversation (bot.dialogue.context, bot.dialogue.placement), or (when unclear) the seller's
choice from buttons. Every "Added to" can be undone for a while: the message leaves the case
and goes through intake instead.
"""

from __future__ import annotations

from datetime import timedelta

from bot import domain as d
from bot.case_rules.conversation import WithdrawnMessage
from bot.dialogue import answers, closed_case
from bot.dialogue.common import declined_reason, is_no, is_yes, refusal
from bot.dialogue.drafts import KeptFiles, WhichCaseDraft, which_case_draft
from bot.dialogue.turn import Turn
from bot.errors import CaseRuleError, DeclinedFinal, InvalidInput, InvalidTransition
from bot.messages import Button
from bot.texts import t

# The "which case?" question: a message kept until the seller chooses its case. The stored
# values ("pick") stay: dialogue states and buttons already sent carry them.
FLOW = "pick"
WHICH_CASE_PREFIX = f"{FLOW}:"  # + a case number
WHICH_CASE_NEW = f"{FLOW}:new"  # "It's a new issue"
UNDO_PREFIX = "undo:"
# How long "Undo / it's something else" works: long enough to notice a wrong "Added to",
# short enough that the agent has not acted on the message yet.
UNDO_MINUTES = 10


async def add_to_case(turn: Turn, number: str, text: str, attachments: KeptFiles) -> bool:
    """Add the message to case ``number`` and acknowledge; False if the rules refused."""
    ref = None
    if turn.msg.platform_message_id:
        # So that a later platform reply to this message also finds the case.
        ref = (turn.msg.channel, turn.msg.address, turn.msg.platform_message_id)
    try:
        case, msg, previous = await turn.call(turn.cases.add_seller_message, turn.seller_id,
                                               number, text, attachments, ref,
                                               seller=turn.seller)
    except InvalidTransition:
        # Closed: history stays as it was; offer a linked reopen instead (rule 3), keeping
        # the message for the reopened case.
        closed_case.offer_reopen(turn, number, text, attachments)
        return False
    except InvalidInput as err:
        if "limit" in err.details:
            refusal(turn, err)
        else:
            turn.say("followup.empty")
        return False
    except DeclinedFinal as err:
        # Say why, as when a new case on the issue is refused (rule 4).
        reason = declined_reason(await turn.call(turn.cases.get_case, number, turn.seller_id))
        refusal(turn, DeclinedFinal(str(err), number=number, reason=reason), number)
        return False
    except CaseRuleError as err:
        refusal(turn, err, number)
        return False
    undo = (Button(t("button.undo_added"), f"{UNDO_PREFIX}{msg.id}"),)
    if previous in (d.PENDING, d.RESOLVED):
        turn.say("followup.added_back", number=case.number, case_number=case.number,
                 buttons=undo)
    else:
        turn.say("followup.added", number=case.number, case_number=case.number, buttons=undo)
    turn.remember_case(case.number, case.case_type)
    return True


async def undo(turn: Turn, payload: str) -> WithdrawnMessage | None:
    """"Undo / it's something else": take the message back out of its case. Returns what was
    taken back (the router then lets the seller say what it is about), or None when it could
    not be (the seller has been told why)."""
    raw = payload.removeprefix(UNDO_PREFIX)
    if not raw.isdigit():
        turn.say("undo.already")
        return None
    try:
        withdrawn = await turn.call(turn.cases.withdraw_seller_message, turn.seller_id,
                                    int(raw), timedelta(minutes=UNDO_MINUTES))
    except InvalidTransition as err:
        number = str(err.details.get("number") or "")
        if err.details.get("expired"):
            turn.say("undo.too_late", number=number, minutes=UNDO_MINUTES)
        elif err.details.get("opened"):
            turn.say("undo.opened_case", number=number)
        else:
            turn.say("undo.already")
        return None
    except CaseRuleError as err:
        refusal(turn, err)
        return None
    turn.state.forget_case()
    turn.state.end()
    turn.say("undo.done", number=withdrawn.case.number, case_number=withdrawn.case.number)
    return withdrawn


async def ask_which(turn: Turn, numbers: list[str], text: str,
                    attachments: KeptFiles, intent: str | None,
                    order_id: str | None = None) -> None:
    """Several cases could be meant: ask, keeping the message until the seller picks."""
    turn.state.start(FLOW, "which", WhichCaseDraft(text=text, att=attachments, intent=intent,
                                                   order=order_id))
    buttons = [Button(t("button.add_to", number=n), f"{WHICH_CASE_PREFIX}{n}") for n in numbers]
    buttons.append(Button(t("button.new_issue"), WHICH_CASE_NEW))
    if len(numbers) == 1:
        turn.say("followup.same_or_new", number=numbers[0], buttons=buttons)
    else:
        turn.say("followup.which_case", buttons=buttons)


def take_kept(turn: Turn) -> tuple[str, KeptFiles, str | None, str | None]:
    """The message kept while asking "which case?" (text, files, its type, its order); the
    question is over."""
    data = which_case_draft(turn.state)
    intent, order = data.get("intent"), data.get("order")
    kept = (str(data.get("text") or ""), list(data.get("att") or []),
            intent if isinstance(intent, str) else None, order if isinstance(order, str) else None)
    turn.state.end()
    return kept


async def on_button(turn: Turn, payload: str) -> bool:
    """A case chosen for the kept message (the router handles "It's a new issue")."""
    if not turn.state.at(FLOW) or payload == WHICH_CASE_NEW:
        return False
    text, att, _intent, _order = take_kept(turn)
    await add_to_case(turn, payload.removeprefix(WHICH_CASE_PREFIX), text, att)
    return True


async def typed_answer(turn: Turn) -> str | None:
    """A typed answer to "which case?" as the button it means: a case number chooses it;
    "new" or "no" is a new issue; "yes" / "same" chooses the only case offered. None: not an answer
    (the question is dropped and the message read afresh)."""
    if not turn.state.at(FLOW):
        return None
    number = await turn.case_number()
    if number:
        return f"{WHICH_CASE_PREFIX}{number}"
    offered = [b.payload for b in turn.state.offered() if b.payload.startswith(WHICH_CASE_PREFIX)
               and b.payload != WHICH_CASE_NEW]
    if answers.means_new_issue(turn.text) or await is_no(turn):
        return WHICH_CASE_NEW
    if len(offered) == 1 and await is_yes(turn):
        return offered[0]
    turn.state.end()
    return None
