"""The seller's language in the chat: /language offers a button per language, and a seller
who keeps writing in another language than theirs is offered to switch, once.

A registered seller's language is stored with them (CaseService.set_preferences); before
registering, a choice is kept in the dialogue state and becomes the seller's when they
register. A seller whose language nothing has told yet (they typed only a code, on a channel
with no language setting) has none stored: they are answered in English, and the first
message that shows a language, or their choice anywhere, stores theirs. Replies stay in the
chosen language until the seller changes it: a message in the other language is understood
all the same (the NLU reads both).
"""

from __future__ import annotations

from bot import i18n
from bot.dialogue.router import match_offered
from bot.dialogue.turn import Turn
from bot.messages import Button
from bot.texts import t

HEAD = "lang"
KEEP = "lang:keep"
#: An unregistered user's choice (a seller's is stored with them).
CHOSEN = "language"
#: [language, how many messages in a row] written in another language than the seller's.
_RUN = "language_run"
#: The language already offered (offered once, until the seller chooses one).
_OFFERED = "language_offered"
#: How many messages in a row in the other language before the offer: one could be a quote.
OFFER_AFTER = 2
#: A whole message that asks for the choice, like /language.
_TYPED_COMMAND = frozenset({"language", "change language", "switch language", "语言", "切换语言",
                            "更改语言", "/language"})


#: The language an unregistered user's messages showed (a code they type shows none).
_SEEN = "language_seen"


def chosen_before_registering(turn: Turn) -> str | None:
    value = turn.state.raw.get(CHOSEN)
    return value if value in i18n.LANGUAGES else None


def known_for(turn: Turn) -> str | None:
    """What tells a user's language while they have none stored: the one they chose, else
    the one this message shows (remembered while they are not registered), else the one an
    earlier message showed; None if nothing has yet."""
    chosen = chosen_before_registering(turn)
    if chosen:
        return chosen
    found = i18n.detect(turn.msg.language_code, turn.text)
    if found is not None:
        if turn.seller is None:
            turn.state.raw[_SEEN] = found
        return found
    seen = turn.state.raw.get(_SEEN)
    return seen if seen in i18n.LANGUAGES else None


def language_buttons() -> tuple[Button, ...]:
    return tuple(Button(i18n.LANGUAGE_NAMES[lang], f"{HEAD}:{lang}") for lang in i18n.LANGUAGES)


def ask(turn: Turn) -> None:
    """/language: one button per language, each named in itself."""
    turn.say("language.ask", buttons=language_buttons())


async def on_button(turn: Turn, payload: str) -> bool:
    """A language chosen (from /language or the offer), or "keep mine"."""
    current = i18n.current_language()
    if payload == KEEP:
        turn.state.raw.pop(_RUN, None)
        turn.say("language.kept", name=i18n.LANGUAGE_NAMES[current])
        return True
    language = payload.removeprefix(f"{HEAD}:")
    if language not in i18n.LANGUAGES:
        return False
    if turn.seller is not None:
        turn.seller = await turn.call(turn.cases.set_preferences, turn.seller_id, language)
    else:
        turn.state.raw[CHOSEN] = language
    for key in (_RUN, _OFFERED):
        turn.state.raw.pop(key, None)
    turn.memo[CHOSEN] = language
    who = i18n.speaker(language, turn.seller.time_zone if turn.seller else None)
    with i18n.speaking(who):
        turn.say("language.set", name=i18n.LANGUAGE_NAMES[language])
    return True


def notice_other_language(turn: Turn) -> None:
    """After a registered seller's typed message: count messages in a row written in another
    language than theirs, and at ``OFFER_AFTER`` offer to switch (in that language), once."""
    if turn.seller is None or turn.msg.command or turn.msg.button or CHOSEN in turn.memo:
        return
    written = i18n.from_script(turn.text)
    current = i18n.current_language()
    if written is None:
        return  # a number, an order id, an emoji: says nothing either way
    if written == current:
        turn.state.raw.pop(_RUN, None)
        return
    run = turn.state.raw.get(_RUN)
    count = run[1] + 1 if isinstance(run, list) and len(run) == 2 and run[0] == written else 1
    turn.state.raw[_RUN] = [written, count]
    if count < OFFER_AFTER or turn.state.raw.get(_OFFERED) == written:
        return
    turn.state.raw[_OFFERED] = written
    with i18n.speaking(i18n.speaker(written, turn.seller.time_zone)):
        turn.say("language.offer", name=i18n.LANGUAGE_NAMES[written], buttons=(
            Button(t("button.switch_language", name=i18n.LANGUAGE_NAMES[written]),
                   f"{HEAD}:{written}"),
            Button(t("button.keep_language", name=i18n.LANGUAGE_NAMES[current]), KEEP)))


def language_to_store(turn: Turn, known: str | None) -> str | None:
    """The language to store for a seller who has none yet: what they chose in this turn,
    else what told it (``known_for`` at the turn's start); None while nothing has (they are
    answered in English meanwhile, and a guess stored now would outlive their later choice on
    another channel or the portal)."""
    chosen = turn.memo.get(CHOSEN)
    return str(chosen) if chosen else known


async def handle(turn: Turn) -> bool:
    """/language, a language button, or its label typed: handled here, before the router, so
    that it works for every user, registered or not, in any flow (the flow stays put)."""
    msg = turn.msg
    if msg.command:
        if msg.command.strip().lower().lstrip("/") != "language":
            return False
        ask(turn)
        return True
    if not msg.button and turn.text.strip().lower().strip(".!?。！？") in _TYPED_COMMAND:
        ask(turn)  # Slack keeps "/" commands for itself: the word alone works in a DM
        return True
    payload = msg.button or match_offered(turn)
    if not payload or payload.split(":", 1)[0] != HEAD:
        return False
    if not await on_button(turn, payload):
        ask(turn)  # a language no longer shipped: choose again
    return True
