"""Pieces several flows share: menus, case lines, yes/no reading, rule-refusal messages."""

from __future__ import annotations

import re

from bot import domain as d
from bot import i18n
from bot.cases import CaseDetail
from bot.dialogue import answers
from bot.dialogue.turn import Turn
from bot.domain import Case, CaseMessage
from bot.errors import (
    CaseNotFound,
    CaseRuleError,
    DailyCapReached,
    DeclinedFinal,
    InvalidInput,
    InvalidTransition,
    KeepOpenLimit,
    NotYourCase,
)
from bot.labels import CASE_TYPES
from bot.messages import Button
from bot.texts import case_title, case_type_label, t
from bot.texts import status_label as status_text

# Button payloads that are not tied to one flow.
NEW = "new"
CASES = "cases"
CANCEL = "cancel"
OK = "ok"

EXCERPT_CHARS = 160
_CANCEL = frozenset({"cancel", "stop", "never mind", "nevermind", "forget it", "abort", "quit"})


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """One line, at most ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def plain(text: str) -> str:
    return re.sub(r"[^\w\s-]", "", text.casefold()).strip()


async def is_yes(turn: Turn) -> bool:
    """A typed yes, with or without small words around it ("yes please open it"); else what
    the NLU reads (labels of offered buttons are matched separately)."""
    if answers.reads_as_yes(turn.text):
        return True
    if answers.reads_as_no(turn.text):
        return False
    return await turn.intent() == "affirm"


async def is_no(turn: Turn) -> bool:
    """A typed no ("no it didn't help", "nope, a different one"); else what the NLU reads."""
    if answers.reads_as_no(turn.text):
        return True
    if answers.reads_as_yes(turn.text):
        return False
    return await turn.intent() == "deny"


async def is_cancel(turn: Turn) -> bool:
    """A short message meaning "stop this"; long texts that mention cancelling are content
    (a seller may well describe a cancelled order)."""
    if plain(turn.text) in _CANCEL:
        return True
    return turn.word_count() <= 4 and await turn.intent() == "cancel"


def type_label(case_type: str | None) -> str:
    return case_type_label(case_type)


def type_menu(turn_ranking: list[str], size: int) -> tuple[Button, ...]:
    """The likeliest case types first (from the NLU ranking), padded with the common ones,
    then "Something else"."""
    chosen: list[str] = [ct for ct in turn_ranking if ct in CASE_TYPES][:size]
    for ct in ("order", "shipping", "payment", "account_health", "listing", "account_access"):
        if len(chosen) >= size:
            break
        if ct not in chosen:
            chosen.append(ct)
    return (*(Button(case_type_label(ct), f"type:{ct}") for ct in chosen),
            Button(t("button.something_else"), "type:other"))


def status_label(case: Case) -> str:
    return status_text(case.status)


def case_line(case: Case, unread: int) -> str:
    """ "CX-000001 · Shipping · 123-…: In progress 🆕 Updated (2 new)" """
    line = t("case.line", number=case.number, title=case_title(case), status=status_label(case))
    if case.urgent and case.is_active:
        line += t("case.urgent_mark")
    if unread:
        line += t("case.updated_mark", count=unread)
    return line


def last_reply_line(reply: CaseMessage | None) -> str | None:
    if reply is None:
        return None
    return t("case.last_reply", text=excerpt(reply.text),
             when=i18n.when(reply.created_at))


def declined_reason(detail: CaseDetail) -> str | None:
    """The reason agents gave when they declined the case, if any."""
    return next((e.reason for e in reversed(detail.events)
                 if e.kind == "status" and e.to_value == d.DECLINED and e.reason), None)


def refusal(turn: Turn, err: CaseRuleError, number: str | None = None) -> None:
    """Tell the seller, in catalogue words, why the case rules said no."""
    num = str(err.details.get("number") or number or "")
    if isinstance(err, CaseNotFound | NotYourCase):
        # The same answer for both: never reveal that another seller's case exists.
        turn.say("case.not_found", number=num or t("case.that_case"))
    elif isinstance(err, DeclinedFinal):
        reason = err.details.get("reason")
        if reason:
            turn.say("refused.declined_reason", number=num, reason=reason)
        else:
            turn.say("refused.declined", number=num)
    elif isinstance(err, DailyCapReached):
        turn.say("refused.daily_cap", limit=err.details.get("limit", "?"),
                 buttons=(Button(t("button.my_cases"), CASES),))
    elif isinstance(err, KeepOpenLimit):
        turn.say("refused.keep_open_limit", number=num)
    elif isinstance(err, InvalidTransition):
        turn.say("refused.transition", number=num or t("case.that_case"))
    elif isinstance(err, InvalidInput) and "limit" in err.details:
        turn.say("input.too_long", length=err.details.get("length"), limit=err.details["limit"])
    else:
        turn.say("refused.generic")
