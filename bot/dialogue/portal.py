"""``/web`` and the "View in browser" button: a one-time login link to the seller portal.

The link (bot/portal_login.py) logs the seller in once within 15 minutes; from a case's
button it opens that case. Issuing one writes nothing, so asking twice is harmless. Without
the portal (FRONTDOOR_PORTAL off) the command says so and no button is offered.
"""

from __future__ import annotations

from bot.dialogue.turn import Turn
from bot.errors import CaseRuleError
from bot.identifiers import normalise_case_number
from bot.messages import Button
from bot.texts import t

HEAD = "web"


def view_buttons(turn: Turn, case_number: str | None = None) -> tuple[Button, ...]:
    """The "View in browser" button (for a case, or the list), or none without the portal."""
    if turn.config.portal_links is None:
        return ()
    payload = f"{HEAD}:{case_number}" if case_number else HEAD
    return (Button(t("button.view_in_browser"), payload),)


async def on_web(turn: Turn, args: str = "") -> None:
    """``/web`` (optionally ``/web CX-000123``) or the button: send the login link."""
    links = turn.config.portal_links
    if links is None:
        turn.say("web.off")
        return
    assert turn.seller is not None
    number = normalise_case_number(args.strip(), turn.config.case_prefix) if args.strip() else None
    if number is not None and not await _is_own(turn, number):
        number = None  # only the seller's own case is opened after login; else the list
    link = links.issue_link(turn.seller.id, number)
    minutes = int(links.lifetime.total_seconds() // 60)
    turn.say("web.link_case" if number else "web.link", link=link, minutes=minutes,
             number=number or "")


async def _is_own(turn: Turn, number: str) -> bool:
    try:
        await turn.call(turn.cases.get_case, number, turn.seller_id)
    except CaseRuleError:
        return False
    return True


async def on_button(turn: Turn, payload: str) -> bool:
    if payload != HEAD and not payload.startswith(f"{HEAD}:"):
        return False
    await on_web(turn, payload.partition(":")[2])
    return True
