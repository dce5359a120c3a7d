"""Typed requests the NLU has no label for (its label set is fixed, bot.labels): a list of
cases with a status filter ("my closed cases"), and closing one's own case ("close
CX-000004", "I solved it myself"). Read by patterns, only in short messages, so a
description that merely mentions a closed case is never taken for one."""

from __future__ import annotations

import re

from bot.dialogue import closing, status
from bot.dialogue.turn import Turn

# Longer messages are descriptions or follow-ups, whatever words they contain.
_LIST_MAX_WORDS = 8
_CLOSE_MAX_WORDS = 16

_CASES = r"(?:cases|tickets|requests)"
_LIST_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (status.CLOSED, re.compile(
        rf"\b(?:closed|finished|old|past|previous|earlier|declined)\s+{_CASES}\b")),
    (status.ALL, re.compile(rf"\ball\s+(?:of\s+)?(?:my\s+)?{_CASES}\b|\bevery\s+case\b")),
    (status.IN_PROGRESS, re.compile(
        rf"\b(?:open|active|current|ongoing)\s+{_CASES}\b|\b{_CASES}\s+in\s+progress\b")),
)
# Words that make a list request something else (a reopen, a complaint about closing).
_NOT_A_LIST = re.compile(r"\b(?:reopen|re-open|close|withdraw)\b")

_CASE_NUMBER = r"[a-z]{2,5}[\s-]?\d{1,6}"
_CLOSE_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\b(?:close|withdraw|cancel)\s+(?:(?:my|the|this|that)\s+)?"
               r"(?:case|ticket|request)\b"),
    re.compile(rf"\b(?:close|withdraw)\s+(?:it\b|{_CASE_NUMBER}\b)"),
    re.compile(rf"\bcancel\s+{_CASE_NUMBER}\b"),
)
# "I solved it myself": the seller needs nothing more, so the case can be closed.
_SOLVED_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\b(?:solved|fixed|sorted|resolved|figured)\b(?:\s+[\w']+){0,3}?\s+"
               r"(?:myself|ourselves|on my own|on our own)\b"),
    re.compile(r"\bno longer need (?:any\s+)?(?:help|this case|the case|it)\b"),
    re.compile(r"\bdon'?t need (?:any\s+)?(?:help|this case|the case|it) any ?more\b"),
)
# Questions and refusals about closing ("why did you close my case", "don't close it").
_NOT_A_REQUEST = re.compile(
    r"\b(?:why|who|when)\b|\b(?:don'?t|do not|not|never|can'?t|cannot|won'?t|didn'?t)\s+"
    r"(?:\w+\s+)?(?:close|withdraw|cancel)\b|\breopen\b")


def _flat(text: str) -> str:
    return " ".join(text.casefold().replace("’", "'").split())


def list_filter(text: str) -> str | None:
    """The status filter a short "show me my … cases" names, or None."""
    flat = _flat(text)
    if len(flat.split()) > _LIST_MAX_WORDS or _NOT_A_LIST.search(flat):
        return None
    return next((name for name, pattern in _LIST_PATTERNS if pattern.search(flat)), None)


def solved_by_seller(text: str) -> bool:
    """"I solved it myself", "we no longer need help" and the like."""
    flat = _flat(text)
    if len(flat.split()) > _CLOSE_MAX_WORDS or _NOT_A_REQUEST.search(flat):
        return False
    return any(p.search(flat) for p in _SOLVED_PATTERNS)


def wants_to_close(text: str) -> bool:
    """A request to close or withdraw a case ("close CX-000004", "I solved it myself")."""
    flat = _flat(text)
    if len(flat.split()) > _CLOSE_MAX_WORDS or _NOT_A_REQUEST.search(flat):
        return False
    return solved_by_seller(text) or any(p.search(flat) for p in _CLOSE_PATTERNS)


async def on_text(turn: Turn, number: str | None) -> bool:
    """Handle a typed list or close request; False if the message is neither."""
    if not turn.text or turn.msg.attachments:
        return False
    wanted = list_filter(turn.text)
    if wanted is not None:
        await status.show_list(turn, status_filter=wanted)
        return True
    if wants_to_close(turn.text):
        await closing.ask(turn, number, keep_words=solved_by_seller(turn.text)
                          or turn.word_count() > closing.COMMAND_WORDS)
        return True
    return False
