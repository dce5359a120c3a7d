"""When the case type is unclear (low confidence, NLU down, or ``/new``): the likeliest
types as buttons plus "Something else", keeping what the seller already wrote."""

from __future__ import annotations

from bot.dialogue import intake
from bot.dialogue.common import is_cancel, type_menu
from bot.dialogue.drafts import KeptFiles, TriageDraft, triage_draft
from bot.dialogue.turn import Turn
from bot.labels import CASE_TYPES, CONVERSATION_INTENTS

FLOW = "triage"
TYPE_PREFIX = "type:"
OTHER = "type:other"


async def offer_types(turn: Turn, text: str, attachments: KeptFiles,
                      order_id: str | None, nlu_down: bool = False) -> None:
    ranking: list[str] = []
    if turn.text:
        c = await turn.nlu()
        ranking = [intent for intent, _conf in c.ranking]
    human = bool(triage_draft(turn.state).get("human")) if turn.state.at(FLOW) else False
    turn.state.start(FLOW, "type", TriageDraft(text=text, att=attachments, order=order_id,
                                               human=human))
    key = "triage.nlu_down" if nlu_down else ("triage.ask_type" if text else "triage.new_case")
    turn.say(key, buttons=type_menu(ranking, turn.config.menu_types))


async def start_with(turn: Turn, case_type: str | None, text: str,
                     attachments: KeptFiles, order_id: str | None = None) -> None:
    """Intake for a known type, or the type menu when it is not known."""
    if case_type in CASE_TYPES:
        await intake.begin(turn, case_type, text, order_id, attachments)
    else:
        await offer_types(turn, text, attachments, order_id)


async def on_button(turn: Turn, payload: str) -> bool:
    """A type was chosen (from the menu, or from a stale menu: both start intake)."""
    data = triage_draft(turn.state) if turn.state.at(FLOW) else TriageDraft()
    text = str(data.get("text") or "")
    att = list(data.get("att") or [])
    order = data.get("order")
    chosen = payload.removeprefix(TYPE_PREFIX)
    case_type = chosen if chosen in CASE_TYPES else None
    await intake.begin(turn, case_type, text, order if isinstance(order, str) else None, att,
                       human=bool(data.get("human")))
    return True


async def on_text(turn: Turn) -> bool:
    """More text while the menu is open: a now-clear type goes on; else keep it and re-ask."""
    if not turn.state.at(FLOW):
        return False
    if await is_cancel(turn):
        turn.state.end()
        turn.say("flow.cancelled")
        return True
    intent = await turn.intent()
    if intent in CONVERSATION_INTENTS and intent not in ("out_of_scope", "affirm", "deny"):
        turn.state.end()  # e.g. "any update?" while the menu is open: answer that instead
        return False
    data = triage_draft(turn.state)
    intake.append_text(data, turn.text)
    data.setdefault("att", []).extend(turn.attachments())
    order = data.get("order") or await turn.order_id()
    case_type = await turn.case_type()
    if case_type is not None:
        await intake.begin(turn, case_type, str(data.get("text") or ""), order,
                           list(data.get("att") or []), human=bool(data.get("human")))
        return True
    c = await turn.nlu()
    await offer_types(turn, str(data.get("text") or ""), list(data.get("att") or []), order,
                      nlu_down=not c.available)
    return True
