"""``/invite NAME``: a main account invites a sub-account from the chat (rule 7).

The code goes to the main account to forward; whoever redeems it becomes a seller of the same
merchant who sees only the cases they open themselves. Sub-accounts cannot invite further:
who may sell for the merchant is the main account's call.
"""

from __future__ import annotations

from bot.dialogue.turn import Turn

MAX_NAME_CHARS = 200


async def on_invite(turn: Turn, args: str) -> None:
    seller = turn.seller
    assert seller is not None  # the router answers the unregistered before
    if not seller.is_main:
        turn.say("invite.only_main")
        return
    name = " ".join(args.split())[:MAX_NAME_CHARS]
    if not name:
        turn.say("invite.usage")
        return
    invitation = await turn.call(turn.cases.create_invitation, name, seller.id, None,
                                 f"seller:{seller.id}")
    turn.say("invite.code", name=invitation.seller_name, code=invitation.code,
             days=(invitation.expires_at - invitation.created_at).days)
