"""``/invite NAME``: a main account invites a sub-account from the chat (rule 7).

The code goes to the main account to forward; whoever redeems it becomes a seller of the same
merchant who sees only the cases they open themselves. Sub-accounts cannot invite further:
who may sell for the merchant is the main account's call.
"""

from __future__ import annotations

from bot.dialogue.turn import Turn
from bot.messages import Button
from bot.texts import t

MAX_NAME_CHARS = 200
#: The "Invite a sub-account" button (on a main account's /help), then the name it asks for.
ASK = "invite"
FLOW = "invite"


def invite_button(turn: Turn) -> tuple[Button, ...]:
    """The button for a main account's options; nothing for anyone else."""
    seller = turn.seller
    if seller is None or not seller.is_main:
        return ()
    return (Button(t("button.invite_sub_account"), ASK),)


def on_button(turn: Turn) -> None:
    """"Invite a sub-account": ask for the colleague's name (the next message is it)."""
    seller = turn.seller
    assert seller is not None
    if not seller.is_main:
        turn.say("invite.only_main")
        return
    turn.state.start(FLOW, "name")
    turn.say("invite.ask_name")


async def on_text(turn: Turn) -> bool:
    """The name asked for after the button: the invitation, as ``/invite NAME`` gives."""
    turn.state.end()
    await on_invite(turn, turn.text)
    return True


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
