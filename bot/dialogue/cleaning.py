"""Inbound text hygiene: control characters out, everything else (emoji, RTL, CJK) kept."""

from __future__ import annotations

import unicodedata

# Directional marks and joiners are format characters (Cf) that RTL and emoji text need.
_KEEP_FORMAT = frozenset("\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067"
                         "\u2068\u2069\ufe0f")


def clean_text(text: str | None) -> str:
    """Drop control characters (NUL breaks PostgreSQL, others break platforms) and lone
    surrogates (they cannot be encoded, so no database or platform takes them) but keep
    newlines and tabs; normalise to NFC so typed and pasted text compare equal."""
    if not text:
        return ""
    kept = []
    for ch in text:
        if ch in "\n\t":
            kept.append(ch)
            continue
        category = unicodedata.category(ch)
        if category in ("Cc", "Cs"):
            continue
        if category == "Cf" and ch not in _KEEP_FORMAT:
            continue
        kept.append(ch)
    return unicodedata.normalize("NFC", "".join(kept)).strip()


def is_storable(text: str) -> bool:
    """True if every database and platform takes ``text`` as it is: no NUL (PostgreSQL
    refuses it in text columns) and no lone surrogate (it has no UTF-8 encoding)."""
    return "\x00" not in text and not any("\ud800" <= ch <= "\udfff" for ch in text)


def storable(text: str) -> str:
    """``text`` without the characters no database or platform takes (see ``is_storable``),
    and otherwise unchanged: for names, file names and button payloads, where
    ``clean_text``'s trimming and normalising would change what the platform sent."""
    if is_storable(text):
        return text
    return "".join(ch for ch in text if ch != "\x00" and not "\ud800" <= ch <= "\udfff")
