"""``/link``: one seller on several channels.

A registered seller sends ``/link`` and gets a one-time code (15 minutes); sending
``/link CODE`` on another channel (in a Slack DM, where Slack keeps ``/`` commands for
itself, ``link CODE``) attaches that chat to the same seller: the cases are the seller's,
whichever chat they are read from.
"""

from __future__ import annotations

import re

from bot.case_rules.registration import LINK_CODE_LIFETIME
from bot.dialogue.turn import Turn
from bot.errors import CaseRuleError, InvitationInvalid

#: "link CODE" typed as text (a Slack DM cannot send an unknown slash command).
TYPED_LINK = re.compile(r"^/?link\s+([A-Za-z0-9-]{4,64})\s*$", re.IGNORECASE)


async def on_link(turn: Turn, args: str) -> None:
    code = args.strip()
    if not code:
        if turn.seller is None:
            turn.say("link.usage")
            return
        link = await turn.call(turn.cases.create_link_code, turn.seller.id)
        turn.say("link.code", code=link.code,
                 minutes=int(LINK_CODE_LIFETIME.total_seconds() // 60))
        return
    if turn.seller is not None:
        turn.say("link.already", name=turn.seller.display_name)
        return
    try:
        seller = await turn.call(turn.cases.register, turn.identity.id, code)
    except (InvitationInvalid, CaseRuleError):
        turn.say("link.invalid")  # one answer for unknown, used and expired codes
        return
    turn.seller = seller
    turn.state.end()
    turn.say("link.done", name=seller.display_name)
