"""A closed case too old to reopen (FRONTDOOR_REOPEN_DAYS): a new case that links it.

The new case is a new case in every respect (the daily cap, the duplicate and declined
checks of intake); it keeps the old case's type, order and subject, so it lands on the same
issue, and both cases get a link ("Follows up CX-…"). The seller's message about the old
case is kept for it (bot.dialogue.closed_case), so they are not asked to say it again.
"""

from __future__ import annotations

from bot.dialogue import closed_case, intake
from bot.dialogue.common import CANCEL, refusal
from bot.dialogue.drafts import FollowUpCaseDraft, KeptFiles
from bot.dialogue.turn import Turn
from bot.errors import CaseRuleError
from bot.messages import Button
from bot.texts import t

FOLLOW = closed_case.FOLLOW_HEAD
FLOW = closed_case.FLOW


def offer(turn: Turn, number: str, days: object, text: str,
          attachments: KeptFiles) -> None:
    """Say the case is too old to reopen and offer a new one about it, keeping the words."""
    turn.state.start(FLOW, closed_case.FOLLOW_STEP,
                     FollowUpCaseDraft(number=number, text=text, att=attachments))
    turn.say("reopen.window_passed", number=number, days=days,
             buttons=(Button(t("button.follow_up", number=number), f"{FOLLOW}:{number}"),
                      Button(t("button.cancel"), CANCEL)))


async def start(turn: Turn, number: str | None) -> None:
    """The seller accepted: intake of a new case on the old case's issue."""
    if not number:
        return
    text, attachments = closed_case.kept_message(turn, number)
    try:
        old = (await turn.call(turn.cases.get_case, number, turn.seller_id)).case
    except CaseRuleError as err:
        turn.state.end()
        refusal(turn, err, number)
        return
    await intake.begin(turn, old.case_type, text, old.order_id, attachments, follows=old.number,
                       subject=old.subject)
