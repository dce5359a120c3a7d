"""A closed case too old to reopen (FRONTDOOR_REOPEN_DAYS): a new case that links it.

The new case is a new case in every respect (the daily cap, the duplicate and declined
checks of intake); it keeps the old case's type, order and subject, so it lands on the same
issue, and both cases get a link ("Follows up CX-…").
"""

from __future__ import annotations

from bot.dialogue import intake
from bot.dialogue.common import CANCEL, refusal
from bot.dialogue.drafts import FollowUpCaseDraft, KeptFiles, follow_up_case_draft
from bot.dialogue.turn import Turn
from bot.errors import CaseRuleError
from bot.messages import Button
from bot.texts import t

FOLLOW = "follow"
FLOW = "follow"


def offer(turn: Turn, number: str, days: object, text: str,
          attachments: KeptFiles) -> None:
    """Say the case is too old to reopen and offer a new one about it, keeping the words."""
    turn.state.start(FLOW, "offer", FollowUpCaseDraft(number=number, text=text, att=attachments))
    turn.say("reopen.window_passed", number=number, days=days,
             buttons=(Button(t("button.follow_up", number=number), f"{FOLLOW}:{number}"),
                      Button(t("button.cancel"), CANCEL)))


async def start(turn: Turn, number: str | None) -> None:
    """The seller accepted: intake of a new case on the old case's issue."""
    if not number:
        return
    data = follow_up_case_draft(turn.state) if turn.state.at(FLOW) else FollowUpCaseDraft()
    same = data.get("number") == number
    text = str(data.get("text") or "") if same else ""
    attachments = list(data.get("att") or []) if same else []
    try:
        old = (await turn.call(turn.cases.get_case, number, turn.seller_id)).case
    except CaseRuleError as err:
        turn.state.end()
        refusal(turn, err, number)
        return
    await intake.begin(turn, old.case_type, text, old.order_id, attachments, follows=old.number,
                       subject=old.subject)
