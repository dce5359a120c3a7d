"""Creating the case at the end of intake or an appeal, and telling the seller what's next."""

from __future__ import annotations

from typing import Any

from bot.cases import OpenCaseResult
from bot.dialogue.common import refusal
from bot.dialogue.drafts import intake_draft
from bot.dialogue.turn import Turn
from bot.errors import CaseRuleError, InvalidInput
from bot.messages import Button
from bot.texts import case_title, t

SHORTEN_STEP = "shorten"


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def next_steps_buttons(number: str) -> tuple[Button, ...]:
    return (Button(t("button.flag_urgent"), f"urgent:{number}"),
            Button(t("button.my_cases"), "cases"))


async def open_now(turn: Turn, case_type: str | None, description: str, order_id: str | None,
                   attachments: list[dict[str, Any]], human: bool = False,
                   subject: str | None = None, follows: str | None = None,
                   ) -> OpenCaseResult | None:
    """Open the case (or land on the active one on the same issue) and answer the seller.

    ``subject`` and ``follows`` default to the intake draft's (an appeal keeps that draft):
    the subject the duplicate check used is the one the case gets, whatever the final
    description says.

    On an oversized description the flow stays where it is and asks for a shorter summary,
    so nothing the seller already said is lost.
    """
    data = intake_draft(turn.state)
    subject = subject if subject is not None else _text_or_none(data.get("subject"))
    follows = follows if follows is not None else _text_or_none(data.get("follows"))
    try:
        result = await turn.call(
            turn.cases.open_case, turn.seller_id, case_type, description, order_id,
            attachments, identity_id=turn.identity.id, subject=subject, follows=follows,
            needs_human=human,
        )
    except InvalidInput as err:
        if "limit" in err.details:
            turn.say("input.combined_too_long", length=err.details.get("length"),
                     limit=err.details["limit"])
            turn.state.goto(SHORTEN_STEP)
        else:
            turn.say("intake.ask_description")
            turn.state.goto("describe")
        return None
    except CaseRuleError as err:
        refusal(turn, err)
        turn.state.end()
        return None
    case = result.case
    if result.created:
        hours = (turn.config.first_response_urgent_hours if case.urgent
                 else turn.config.first_response_hours)
        turn.say("case.opened", number=case.number, title=case_title(case), hours=hours,
                 buttons=next_steps_buttons(case.number), case_number=case.number)
    else:
        # Someone (another device, a double tap) opened it a moment ago: rule 1 holds, and
        # what the seller wrote goes into that case instead.
        # Its flag for a person goes with the message, in one rule's unit of work like a new
        # case's: a refused message is not flagged either.
        try:
            await turn.call(turn.cases.add_seller_message, turn.seller_id, case.number,
                            description, attachments, needs_human=human)
        except CaseRuleError as err:
            refusal(turn, err, case.number)
            human = False  # nothing was saved, the flag neither
        turn.say("case.opened_existing", number=case.number, case_number=case.number)
    if human:
        turn.say("human.requested", number=case.number, hours=turn.config.first_response_hours)
    turn.state.end()
    turn.remember_case(case.number, case.case_type)
    return result
