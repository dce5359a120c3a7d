"""``/email``: a seller gives (or changes, or stops) the address for notifications by email.

``/email you@example.com`` mails a confirmation link there (bot.case_rules.email_addresses);
``/email`` alone says what is set; ``/email off`` stops the mail.
"""

from __future__ import annotations

from bot.dialogue.turn import Turn
from bot.errors import InvalidInput
from bot.seller_emails import VERIFY_LIFETIME
from bot.texts import t

COMMAND = "email"
_OFF = frozenset({"off", "stop", "remove", "none", "no"})


async def on_email(turn: Turn, args: str) -> None:
    typed = args.strip()
    if not turn.cases.rules.email_notifications:
        turn.say("email.off")
        return
    if not typed:
        email = await turn.call(turn.cases.email_of, turn.seller_id)
        current = ""
        if email is not None and email.address:
            current += t("email.current", address=email.address)
        if email is not None and email.pending_address:
            current += t("email.pending", address=email.pending_address)
        turn.say("email.usage", current=current)
        return
    if typed.lower() in _OFF:
        removed = await turn.call(turn.cases.remove_email, turn.seller_id)
        turn.say("email.removed" if removed else "email.nothing_to_remove")
        return
    try:
        email = await turn.call(turn.cases.request_email, turn.seller_id, typed)
    except InvalidInput:
        turn.say("email.invalid", text=typed[:80])
        return
    if email.pending_address is None:
        turn.say("email.already", address=email.address)
        return
    turn.say("email.link_sent", address=email.pending_address,
             hours=int(VERIFY_LIFETIME.total_seconds() // 3600))
