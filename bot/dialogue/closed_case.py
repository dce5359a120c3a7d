"""A message about a closed case: "Reopen it to continue?", with the message kept.

The words that led to the question are why the seller wants the case back: pressing "Reopen"
(or typing a yes) reopens it with them, so the agent reads them in the new case; past the
reopening window they go into the new case that follows the old one
(bot.dialogue.follow_up_case, which keeps its message in the same flow). A typed no drops
the question; anything else is read afresh.
"""

from __future__ import annotations

from bot.dialogue.common import CANCEL, is_no, is_yes
from bot.dialogue.drafts import FollowUpCaseDraft, KeptFiles, follow_up_case_draft
from bot.dialogue.turn import Turn
from bot.messages import Button
from bot.texts import t

# One flow for both questions about a closed case: "Reopen it?" (REOPEN_STEP) and, past the
# window, "A new case about it?" (FOLLOW_STEP); both keep a FollowUpCaseDraft.
FLOW = "follow"
REOPEN_STEP = "reopen"
FOLLOW_STEP = "offer"
REOPEN_HEAD = "reopen"
FOLLOW_HEAD = "follow"


def offer_reopen(turn: Turn, number: str, text: str, attachments: KeptFiles) -> None:
    """Say ``number`` is closed and offer to reopen it, keeping the seller's message."""
    turn.state.start(FLOW, REOPEN_STEP,
                     FollowUpCaseDraft(number=number, text=text, att=list(attachments)))
    turn.say("followup.closed", number=number,
             buttons=(Button(t("button.reopen", number=number), f"{REOPEN_HEAD}:{number}"),))


def kept_message(turn: Turn, number: str) -> tuple[str, KeptFiles]:
    """The words and files kept with a question about ``number`` ("", [] if none)."""
    if not turn.state.at(FLOW):
        return "", []
    data = follow_up_case_draft(turn.state)
    if data.get("number") != number:
        return "", []
    return str(data.get("text") or ""), list(data.get("att") or [])


async def typed_answer(turn: Turn) -> str | None:
    """The button a typed answer to the question means ("yes please", or "please reopen
    it": reopen, or the new case; "no": cancel), or None (the question is dropped; the
    message is read afresh, as is one that names another case)."""
    number = str(follow_up_case_draft(turn.state).get("number") or "")
    head = REOPEN_HEAD if turn.state.step == REOPEN_STEP else FOLLOW_HEAD
    named = await turn.case_number()
    if named is not None and named != number:
        # "please reopen CX-000002" names another case: not an answer about this one.
        turn.state.end()
        return None
    if number and (await is_yes(turn) or await turn.intent() == "reopen_case"):
        return f"{head}:{number}"
    if number and await is_no(turn):
        return CANCEL
    turn.state.end()
    return None
