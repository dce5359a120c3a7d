"""Deterministic extraction of order ids and case numbers from seller text (no Rasa).

The formats are fixed in docs/design.md (the label set):

* ``case_number``: the case prefix (``CX`` by default, configurable) and up to 6 digits, written
  any way a seller types it: ``cx-4512``, ``CX 77``, ``cx004512``, ``Cx#4512``, ``CX - 12``. The
  value is normalised to ``<PREFIX>-`` plus 6 digits: ``CX-004512``, ``CX-000077``.
* ``order_id``: ``123-1234567-1234567`` (hyphens; spaces or dashes typed instead are
  normalised to hyphens), or 14 characters: 6 digits then 8 of ``A-Z0-9`` such as
  ``240518K7QW93XZ`` (uppercased).

Chinese text: ids are found glued to Chinese characters ("CX-000012的进度", "订单240518K7QW93XZ的货
款", "CX-000012号") and in full-width forms ("ＣＸ－０００１２", "２４０５１８Ｋ７ＱＷ９３ＸＺ", "CX：12"),
which Chinese input methods type; they are normalised exactly as the ASCII forms. The raw value
is the text as the seller typed it (full-width included).

Regexes rather than a learned extractor: the formats are exact, and the engine must get the
same answer whether or not the NLU server is up.
"""

from __future__ import annotations

import re
from functools import lru_cache

from bot.classification import Entity
from bot.labels import ENTITY_CASE_NUMBER, ENTITY_ORDER_ID

CASE_DIGITS = 6

# Full-width ASCII (U+FF01-U+FF5E) and the ideographic space, folded to ASCII one character for
# one, so a match's offsets in the folded text are its offsets in the seller's text.
_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def fold_full_width(text: str) -> str:
    """``text`` with full-width letters, digits and signs as ASCII (same length)."""
    return text.translate(_FULL_WIDTH)


# 3-7-7 digit groups. The separators may be hyphens, dashes or single spaces (phones and
# copy-paste from e-mails produce all three), but both must be the same kind.
_DASHED_ORDER = re.compile(
    r"(?<![0-9A-Za-z])([0-9]{3})(?P<sep>[-\u2010-\u2015 ])([0-9]{7})(?P=sep)([0-9]{7})(?![0-9A-Za-z]|-[0-9])"
)
# 6 digits then 8 of A-Z0-9. The tail must hold at least one letter: a 14-digit number is far
# more often a GTIN-14 or a phone number than an order id (an all-digit tail has odds of about
# 1 in 28,000 for a generated id).
_COMPACT_ORDER = re.compile(
    r"(?<![0-9A-Za-z])([0-9]{6}(?=[0-9A-Za-z]{0,7}[A-Za-z])[0-9A-Za-z]{8})(?![0-9A-Za-z])"
)


@lru_cache(maxsize=16)
def _case_pattern(prefix: str) -> re.Pattern[str]:
    """The case-number regex for ``prefix``: not glued to other letters or digits on either side."""
    return re.compile(
        rf"(?<![0-9A-Za-z]){re.escape(prefix)}\s?[-_#:.\u2010-\u2015]?\s?([0-9]{{1,{CASE_DIGITS}}})"
        r"(?![0-9A-Za-z]|[-\u2010-\u2015][0-9])",
        re.IGNORECASE,
    )


def _format_case(prefix: str, digits: str) -> str | None:
    number = int(digits)
    if number == 0:  # numbering starts at 1; "CX-000000" is a placeholder, not a case
        return None
    return f"{prefix.upper()}-{number:0{CASE_DIGITS}d}"


def find_case_numbers(text: str, prefix: str = "CX") -> list[tuple[str, str]]:
    """Every case number in ``text`` as ``(normalised, raw)`` pairs, in order, without repeats.

    >>> find_case_numbers("about cx 77 and CX-000077 and Cx#4512")
    [('CX-000077', 'cx 77'), ('CX-004512', 'Cx#4512')]
    """
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    for match in _case_pattern(prefix).finditer(fold_full_width(text)):
        value = _format_case(prefix, match.group(1))
        if value is not None and value not in seen:
            seen.add(value)
            found.append((value, text[match.start():match.end()]))
    return found


def normalise_case_number(text: str, prefix: str = "CX") -> str | None:
    """The case number that ``text`` names, normalised (``"cx 77"`` -> ``"CX-000077"``), or None.

    A text that is only digits (``"4512"``, ``"#4512"``: what an agent types after ``/case``)
    counts as a case number too; otherwise the first prefixed number in the text is used.
    """
    stripped = fold_full_width(text).strip()
    bare = re.fullmatch(rf"#?\s?([0-9]{{1,{CASE_DIGITS}}})", stripped)
    if bare:
        return _format_case(prefix, bare.group(1))
    found = find_case_numbers(stripped, prefix)
    return found[0][0] if found else None


def whole_case_number(text: str, prefix: str = "CX") -> str | None:
    """The case number ``text`` is, when it is nothing else: one number in any spelling a
    seller or agent types ("cx1", "CX 1", "#1", "4512", full-width, "CX-000001号"), with only
    spaces or punctuation around it. None for words around a number ("about CX-1"), two
    numbers ("CX-1, CX-3") or a number glued to more ("CX-1.5", "CX-1x")."""
    found = find_case_numbers(text, prefix)
    if len(found) > 1:
        return None
    if not found:
        return normalise_case_number(text, prefix)  # only digits ("4512", "#4512"), or None
    number, raw = found[0]
    # "号" after a number is how Chinese says "number": no word of the text.
    rest = text.replace(raw, "", 1).replace("号", "")
    return None if any(ch.isalnum() for ch in fold_full_width(rest)) else number


def find_order_ids(text: str) -> list[tuple[str, str]]:
    """Every order id in ``text`` as ``(normalised, raw)`` pairs, in order, without repeats."""
    hits: list[tuple[int, str, str]] = []
    folded = fold_full_width(text)
    for match in _DASHED_ORDER.finditer(folded):
        value = f"{match.group(1)}-{match.group(3)}-{match.group(4)}"
        hits.append((match.start(), value, text[match.start():match.end()]))
    for match in _COMPACT_ORDER.finditer(folded):
        hits.append((match.start(), match.group(1).upper(), text[match.start():match.end()]))
    hits.sort(key=lambda hit: hit[0])
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    for _start, value, raw in hits:
        if value not in seen:
            seen.add(value)
            found.append((value, raw))
    return found


def extract_entities(text: str, prefix: str = "CX") -> list[Entity]:
    """Order ids and case numbers in ``text``, normalised, in order of appearance per kind.

    Order ids come first, then case numbers; each kind keeps the order of the text.
    """
    entities = [Entity(ENTITY_ORDER_ID, value, raw) for value, raw in find_order_ids(text)]
    entities += [Entity(ENTITY_CASE_NUMBER, value, raw) for value, raw in find_case_numbers(text, prefix)]
    return entities
