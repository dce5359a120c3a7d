"""Follow-up messages: what a seller writes about a case already open goes into that case.

The case is known from a platform reply to a relayed message, a case number in the text, the
ongoing conversation, or (when unclear among several) the seller's choice from buttons.
"""

from __future__ import annotations

from typing import Any

from bot import domain as d
from bot.dialogue.common import declined_reason, refusal
from bot.dialogue.turn import Turn
from bot.errors import CaseRuleError, DeclinedFinal, InvalidInput, InvalidTransition
from bot.messages import Button
from bot.texts import t

FLOW = "pick"
PICK_PREFIX = "pick:"
PICK_NEW = "pick:new"


async def add(turn: Turn, number: str, text: str, attachments: list[dict[str, Any]]) -> bool:
    """Add the message to case ``number`` and acknowledge; False if the rules refused."""
    ref = None
    if turn.msg.platform_message_id:
        # So that a later platform reply to this message also finds the case.
        ref = (turn.msg.channel, turn.msg.address, turn.msg.platform_message_id)
    try:
        case, _msg, previous = await turn.call(turn.cases.add_seller_message, turn.seller_id,
                                               number, text, attachments, ref,
                                               seller=turn.seller)
    except InvalidTransition:
        # Closed: history stays as it was; offer a linked reopen instead (rule 3).
        turn.say("followup.closed", number=number,
                 buttons=(Button(t("button.reopen", number=number), f"reopen:{number}"),))
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
    if previous in (d.PENDING, d.RESOLVED):
        turn.say("followup.added_back", number=case.number, case_number=case.number)
    else:
        turn.say("followup.added", number=case.number, case_number=case.number)
    turn.remember_case(case.number, case.case_type)
    return True


async def ask_which(turn: Turn, numbers: list[str], text: str,
                    attachments: list[dict[str, Any]], intent: str | None,
                    order_id: str | None = None) -> None:
    """Several cases could be meant: ask, keeping the message until the seller picks."""
    turn.state.start(FLOW, "which", {"text": text, "att": attachments, "intent": intent,
                                     "order": order_id})
    buttons = [Button(t("button.add_to", number=n), f"{PICK_PREFIX}{n}") for n in numbers]
    buttons.append(Button(t("button.new_issue"), PICK_NEW))
    if len(numbers) == 1:
        turn.say("followup.same_or_new", number=numbers[0], buttons=buttons)
    else:
        turn.say("followup.which_case", buttons=buttons)


async def on_button(turn: Turn, payload: str) -> bool:
    if not turn.state.at(FLOW):
        return False
    data = turn.state.data
    text, att = str(data.get("text") or ""), list(data.get("att") or [])
    intent, order = data.get("intent"), data.get("order")
    turn.state.end()
    if payload == PICK_NEW:
        from bot.dialogue import triage

        await triage.start_with(turn, intent if isinstance(intent, str) else None, text, att,
                                order if isinstance(order, str) else None)
        return True
    await add(turn, payload.removeprefix(PICK_PREFIX), text, att)
    return True


async def on_text(turn: Turn) -> bool:
    """A typed answer to "which case?": a case number picks; anything else starts afresh."""
    if not turn.state.at(FLOW):
        return False
    number = await turn.case_number()
    if number:
        await on_button(turn, f"{PICK_PREFIX}{number}")
        return True
    turn.state.end()
    return False
