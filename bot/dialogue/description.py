"""Whether what a seller wrote describes the problem well enough to act on, or intake should
ask for more detail first."""

from __future__ import annotations

from bot.dialogue.turn import Turn
from bot.dialogue.word_count import is_cjk
from bot.identifiers import find_order_ids

_MIN_WORDS = 4
#: How many characters of English one Chinese character stands for (about three).
_CJK_CHAR_WEIGHT = 3


def is_thin(turn: Turn, text: str) -> bool:
    """Too little to act on: order ids and case numbers don't count as a description."""
    for _norm, raw in find_order_ids(text):
        text = text.replace(raw, " ")
    words = text.split()
    # Chinese and Japanese are written without spaces: count their characters as words, and
    # each as much text as a short English word ("货款还没到账" says "the payout hasn't arrived").
    cjk = sum(1 for ch in text if is_cjk(ch))
    units = len(words) + cjk
    length = len(" ".join(words)) + cjk * (_CJK_CHAR_WEIGHT - 1)
    return length < turn.config.min_description_chars or units < _MIN_WORDS

