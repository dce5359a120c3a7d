"""Unregistered users (rule 7): invitation-only pre-launch, invitation codes (typed or via a
``/start CODE`` deep link), and requests for an invitation, posted for agents to answer."""

from __future__ import annotations

import re

from bot.dialogue import linking
from bot.dialogue.common import is_cancel
from bot.dialogue.turn import Turn
from bot.errors import CaseRuleError, InvitationInvalid
from bot.identifiers import fold_full_width
from bot.messages import Button
from bot.texts import t

FLOW = "register"
REQUEST = "inv:req"
HAVE_CODE = "inv:code"
MAX_NOTE_CHARS = 1000

# A typed message is tried as a code only if it looks like one: a single token of letters,
# digits and dashes, with a digit or a dash in it (so "hello" is not sent to the rules).
_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{3,63}$")
# A code-shaped token inside a longer message ("邀请码：ZDRW-GEZM", "my code is ZDRW-GEZM").
_CODE_TOKEN = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9][A-Za-z0-9_-]{3,63}(?![A-Za-z0-9_-])")
# Words that say the message carries a code, when nobody asked for one: only then is a
# code-shaped token taken out of a sentence (an order id in "订单…没到" is no code).
_NAMES_A_CODE = re.compile(r"邀请码|注册码|邀请代码|\b(?:invitation|invite)?\s*code\b",
                           re.IGNORECASE)


def looks_like_code(text: str) -> bool:
    token = fold_full_width(text).strip()
    return bool(_CODE_RE.match(token)) and any(ch.isdigit() or ch == "-" for ch in token)


def code_in(text: str, asked: bool) -> str | None:
    """The invitation code a typed message gives, full-width forms folded to ASCII (a Chinese
    input method types "ＺＤＲＷ－ＧＥＺＭ"): the message when it is a code, else its one
    code-shaped token when a code was asked for or the message says it is one ("邀请码：
    ZDRW-GEZM"), else (asked for) the message itself when it is a single token."""
    folded = fold_full_width(text).strip()
    if looks_like_code(folded):
        return folded
    found = [m.group(0) for m in _CODE_TOKEN.finditer(folded)
             if any(ch.isdigit() or ch == "-" for ch in m.group(0))]
    if len(found) == 1 and (asked or _NAMES_A_CODE.search(folded)):
        return found[0]
    if asked and folded and len(folded.split()) == 1:
        return folded  # asked for a code: tried as typed, so a wrong one is told so
    return None


def _menu() -> tuple[Button, ...]:
    return (Button(t("button.have_code"), HAVE_CODE), Button(t("button.request_invite"), REQUEST))


def welcome_unregistered(turn: Turn) -> None:
    turn.say("register.invite_only", brand=turn.config.brand, buttons=_menu())


async def redeem(turn: Turn, code: str) -> bool:
    """Try an invitation code; True when the user is now a registered seller."""
    try:
        seller = await turn.call(turn.cases.register, turn.identity.id, code.strip())
    except (InvitationInvalid, CaseRuleError):
        # One answer for unknown, used and expired codes: codes are not to be guessed at.
        turn.say("register.code_invalid", buttons=_menu())
        turn.state.start(FLOW, "code", {})
        return False
    turn.seller = seller
    turn.state.end()
    turn.say("register.welcome", name=seller.display_name, brand=turn.config.brand)
    return True


async def on_start(turn: Turn, args: str) -> None:
    """``/start`` (with the deep-link code, if any)."""
    code = args.strip()
    if turn.seller is not None:
        if code:
            turn.say("register.already", name=turn.seller.display_name)
        turn.say("smalltalk.welcome_back", name=turn.seller.display_name, brand=turn.config.brand)
        return
    if code:
        await redeem(turn, code)
        return
    welcome_unregistered(turn)


async def on_button(turn: Turn, payload: str) -> None:
    if payload == HAVE_CODE:
        turn.state.start(FLOW, "code", {})
        turn.say("register.ask_code")
    elif payload == REQUEST:
        if await turn.call(turn.cases.open_invitation_request, turn.identity.id) is not None:
            turn.say("register.request_already")
            return
        turn.state.start(FLOW, "request", {})
        turn.say("register.ask_request")


async def on_text(turn: Turn) -> None:
    """Anything an unregistered user types."""
    typed_link = linking.TYPED_LINK.match(turn.text or "")
    if typed_link:
        await linking.on_link(turn, typed_link.group(1))
        return
    if turn.state.at(FLOW, "request"):
        if await is_cancel(turn):
            turn.state.end()
            turn.say("flow.cancelled")
            return
        if len(turn.text) < 3:
            turn.say("register.ask_request")
            return
        request_id = await turn.call(turn.cases.request_invitation, turn.identity.id,
                                     turn.text[:MAX_NOTE_CHARS])
        turn.state.end()
        if request_id is None:  # one open request per person: nothing more is posted
            turn.say("register.request_already")
            return
        turn.say("register.request_recorded", brand=turn.config.brand)
        return
    code = code_in(turn.text or "", asked=turn.state.at(FLOW, "code"))
    if code is not None:
        await redeem(turn, code)
        return
    welcome_unregistered(turn)
