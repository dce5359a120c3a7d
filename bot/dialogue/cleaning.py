"""Inbound text hygiene: control characters out, everything else (emoji, RTL, CJK) kept."""

from __future__ import annotations

import unicodedata

# Directional marks and joiners are format characters (Cf) that RTL and emoji text need.
_KEEP_FORMAT = frozenset("\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067"
                         "\u2068\u2069\ufe0f")


def clean_text(text: str | None) -> str:
    """Drop control characters (NUL breaks PostgreSQL, others break platforms) but keep
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
