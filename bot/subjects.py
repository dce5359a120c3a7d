"""The subject of an issue without an order: what tells two cases of one type apart.

Two suppressed listings are two issues, so a case of a type without an order keeps a short
subject next to its type. It comes from an identifier the seller gave (an ASIN or a SKU:
exact), or else from the seller's own words (the first few that carry meaning, normalised).
The subject is stored as a key (at most `MAX_KEY` characters): identical requests get the
same key, so the database's one-active-case index still catches simultaneous ones.

Two word subjects are "the same issue" when they share most of their words: a description
typed again in other words still names the same listing, and must meet the same refusal
(rule 4) or the same open case (rule 1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_KEY = 60
_MAX_WORDS = 5
# Two word subjects are the same issue when they share this many words, and at least half
# of the shorter one.
_MIN_SHARED = 2

_ASIN = re.compile(r"(?<![0-9A-Za-z])(B0[0-9A-Za-z]{8})(?![0-9A-Za-z])", re.IGNORECASE)
_SKU = re.compile(r"(?<![0-9A-Za-z])SKU\s*[:#=-]?\s*([0-9A-Za-z][0-9A-Za-z._/-]{0,38}[0-9A-Za-z])",
                  re.IGNORECASE)
_IDENTIFIER_KINDS = ("asin", "sku")
# Letters only: case numbers, order ids and amounts tell nothing about which listing it is.
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")

# Words that say nothing about which issue it is: grammar, politeness, and the vocabulary
# every case of a type shares ("listing", "account", "problem").
_FILLER_WORDS = """
a about above after again against all also am an and any anyone anything are as at be been
before being below between both but by can cannot could did do does doing done down during
each even ever every few for from further get gets getting got had has have having he her here
hers him his how i i'm i've if in into is isn't it it's its just me more most my myself no nor
not now of off on once only or other our ours out over own please pls plz same she should so
some still such than that the their them then there these they this those through to too
under until up us very was wasn't we were what when where which while who why will with would
you your yours yourself hi hello hey dear team support thanks thank regards kindly urgent
asap help need needs want wanted trying tried try today yesterday tomorrow week days day
again already since ago just really new another one two three well now
problem problems issue issues case cases question help seller sellers ceylexo amazon
central account accounts listing listings product products item items order orders
mine theirs ourselves themselves
"""
_FILLER = frozenset(_FILLER_WORDS.split())


@dataclass(frozen=True)
class Subject:
    """``key`` is stored and compared; ``label`` is what the seller and agents read."""

    key: str
    label: str


def subject_of(text: str) -> Subject | None:
    """The subject ``text`` names, or None when it says nothing that tells an issue apart."""
    asin = _ASIN.search(text)
    if asin:
        value = asin.group(1).upper()
        return Subject(f"asin {value.lower()}", f"ASIN {value}")
    sku = _SKU.search(text)
    if sku:
        value = sku.group(1)
        return Subject(f"sku {value.lower()}"[:MAX_KEY], f"SKU {value}"[:MAX_KEY])
    words: list[str] = []
    for match in _WORD.finditer(text.lower().replace("’", "'")):
        raw = match.group(0).strip("'-")
        word = _singular(raw)
        if len(word) < 3 or raw in _FILLER or word in _FILLER or word in words:
            continue
        words.append(word)
        if len(words) == _MAX_WORDS:
            break
    if not words:
        return None
    key = " ".join(words)
    while len(key) > MAX_KEY:
        words.pop()
        key = " ".join(words)
    return Subject(key, key)


def same_subject(a: str | None, b: str | None) -> bool:
    """Whether two subject keys name the same issue."""
    if (a or "") == (b or ""):
        return True
    if not a or not b or _is_identifier(a) or _is_identifier(b):
        return False
    first, second = set(a.split()), set(b.split())
    shared = len(first & second)
    return shared >= _MIN_SHARED and 2 * shared >= min(len(first), len(second))


def label_of(key: str | None) -> str:
    """The readable form of a stored key (identifiers upper-cased again)."""
    if not key:
        return ""
    kind, _, value = key.partition(" ")
    if kind in _IDENTIFIER_KINDS:
        return f"{kind.upper()} {value.upper()}"
    return key


def _is_identifier(key: str) -> bool:
    return key.partition(" ")[0] in _IDENTIFIER_KINDS and " " in key


def _singular(word: str) -> str:
    """A crude English singular, enough for "listings" and "listing" to be one word."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word
