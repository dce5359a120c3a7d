"""Greetings, thanks, goodbyes, help, out-of-scope redirects and unknown commands: short
answers that point back to what the bot can do."""

from __future__ import annotations

from bot.dialogue.common import CASES, NEW
from bot.dialogue.sub_accounts import invite_button
from bot.dialogue.turn import Turn
from bot.messages import Button, Reply
from bot.texts import t

COMMANDS: tuple[str, ...] = ("new", "cases", "case", "help", "language", "start")


def _main_buttons() -> tuple[Button, ...]:
    return (Button(t("button.new_case"), NEW), Button(t("button.my_cases"), CASES))


def greet(turn: Turn) -> None:
    name = turn.seller.display_name if turn.seller else ""
    turn.say("smalltalk.greet", name=name, brand=turn.config.brand, buttons=_main_buttons())


def thank(turn: Turn) -> None:
    turn.say("smalltalk.thank")


def goodbye(turn: Turn) -> None:
    turn.say("smalltalk.goodbye")


def help_(turn: Turn) -> None:
    # A main account's options include inviting a colleague (the button asks for the name);
    # /email is offered only where mail can be sent, /web only with the portal on (else each
    # would only say it cannot).
    text = t("smalltalk.help", brand=turn.config.brand, prefix=turn.config.case_prefix)
    if turn.cases.rules.email_notifications:
        text += t("smalltalk.help_email")
    if turn.config.portal_links is not None:
        text += t("smalltalk.help_web")
    turn.reply_with(Reply(text, _main_buttons() + invite_button(turn)))


def out_of_scope(turn: Turn) -> None:
    turn.say("smalltalk.out_of_scope", brand=turn.config.brand, buttons=_main_buttons())


def nothing_to_confirm(turn: Turn) -> None:
    turn.say("smalltalk.nothing_pending", buttons=_main_buttons())


def unknown_command(turn: Turn, command: str) -> None:
    turn.say("smalltalk.unknown_command", command=command[:32],
             commands=", ".join(f"/{c}" for c in COMMANDS))


def empty(turn: Turn) -> None:
    turn.say("smalltalk.empty", buttons=_main_buttons())


def stale_button(turn: Turn) -> None:
    turn.say("smalltalk.stale_button", buttons=_main_buttons())


def acknowledged(turn: Turn) -> None:
    """A bare "ok" / "got it": nothing to file, nothing to ask."""
    turn.say("smalltalk.ack")


def not_understood(turn: Turn) -> None:
    """A message with nothing to read ("4", "??") and no question it could answer: it is
    never filed into a case."""
    turn.say("smalltalk.not_understood", text=turn.text[:20], buttons=_main_buttons())
