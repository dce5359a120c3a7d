"""How many words a message has, in English and in Chinese alike.

Chinese is written without spaces, so counting by spaces makes a whole Chinese sentence one
word. Latin words are counted by spaces; a run of Chinese (or Japanese, Korean) characters
counts one word per two characters, since a Chinese word is one or two characters
("包裹" parcel, "到了" arrived). That is the weight bot.dialogue.description gives a
character too (about three letters of English, half a short English word), so "short" and
"long enough" mean the same amount of text in both languages.
"""

from __future__ import annotations

import re

# Kana, CJK ideographs (with extension A) and Hangul syllables. Punctuation (U+3000-U+303F,
# full-width forms) is not in it: "，" and "。" are no words.
_CJK_CHARS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af"
_CJK_RUN = re.compile(f"[{_CJK_CHARS}]+")
#: How many Chinese characters make one word.
CJK_CHARS_PER_WORD = 2


def is_cjk(ch: str) -> bool:
    """A Chinese, Japanese or Korean character (not its punctuation)."""
    return _CJK_RUN.fullmatch(ch) is not None


def count_words(text: str) -> int:
    """Words in ``text``: space-separated tokens, a token with Chinese in it counted as its
    Chinese runs (two characters a word, rounded up) plus the Latin pieces between them
    ("CX-000001：买家说包裹坏了" is 1 + 4)."""
    count = 0
    for token in text.split():
        runs = _CJK_RUN.findall(token)
        if not runs:
            count += 1  # English and the like: exactly as split by spaces
            continue
        count += sum(-(-len(run) // CJK_CHARS_PER_WORD) for run in runs)
        count += sum(1 for piece in _CJK_RUN.split(token) if any(ch.isalnum() for ch in piece))
    return count
