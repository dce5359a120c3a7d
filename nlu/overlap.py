"""Near-duplicates between two sets of examples (training vs held-out), in English and Chinese.

A held-out line that differs from a training line only by punctuation, spacing, letter case,
full-width forms or one word says nothing about unseen text. Two texts are near-duplicates when
their token sequences are equal after normalising, or within a small edit distance:

* tokens are ASCII words and numbers, and single CJK characters (Chinese has no spaces, and the
  app has no word segmenter; a Chinese word is one to three characters);
* punctuation (ASCII, full-width and CJK) and spacing are dropped, full-width forms folded,
  Traditional characters read as Simplified (as the model reads them: :mod:`nlu.model_text`);
* one token may differ (inserted, deleted or replaced) when the shorter text has at least
  ``MIN_TOKENS_ONE_EDIT`` tokens ("hi" and "hello" are different texts, but "my payout is
  late" and "my payment is late" are not); for texts that are mostly CJK characters, two
  (one two-character word) when the shorter has at least ``MIN_CJK_TWO_EDITS`` tokens.

Candidates are found with a deletion index (two sequences within edit distance k share a
sequence obtained by deleting at most k tokens from each), then checked with the real edit
distance, so a few thousand lines compare in well under a second.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from nlu.model_text import simplified

MIN_TOKENS_ONE_EDIT = 3
MIN_CJK_TWO_EDITS = 6

_TOKEN = re.compile(r"[a-z0-9]+|[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

Tokens = tuple[str, ...]


def tokens(text: str) -> Tokens:
    """The comparable tokens of ``text``: lower-case ASCII words/numbers and CJK characters."""
    folded = simplified(unicodedata.normalize("NFKC", text).lower())
    return tuple(_TOKEN.findall(folded))


def _allowed_edits(a: Tokens, b: Tokens) -> int:
    shorter = min(len(a), len(b))
    mostly_cjk = all(sum(1 for t in seq if _CJK.fullmatch(t)) * 2 > len(seq) for seq in (a, b))
    if mostly_cjk and shorter >= MIN_CJK_TWO_EDITS:
        return 2
    return 1 if shorter >= MIN_TOKENS_ONE_EDIT else 0


def edit_distance(a: Tokens, b: Tokens, limit: int) -> int:
    """Levenshtein distance over tokens, or ``limit + 1`` as soon as it must exceed ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, token_a in enumerate(a, 1):
        current = [i]
        for j, token_b in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (token_a != token_b)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def _deletions(seq: Tokens, depth: int) -> Iterator[Tokens]:
    """``seq`` with every choice of up to ``depth`` tokens deleted (``seq`` itself included)."""
    for count in range(depth + 1):
        if count > len(seq):
            break
        for removed in itertools.combinations(range(len(seq)), count):
            yield tuple(t for k, t in enumerate(seq) if k not in removed)


@dataclass(frozen=True)
class NearDuplicate:
    """A held-out text and the reference text it nearly repeats."""

    text: str
    reference: str
    distance: int


def near_duplicates(texts: Iterable[str], references: Iterable[str]) -> list[NearDuplicate]:
    """Every text of ``texts`` that nearly repeats one of ``references`` (its closest one)."""
    index: dict[Tokens, list[int]] = defaultdict(list)
    reference_list = list(references)
    reference_tokens = [tokens(r) for r in reference_list]
    for position, seq in enumerate(reference_tokens):
        for variant in set(_deletions(seq, 2)):
            index[variant].append(position)
    found: list[NearDuplicate] = []
    for text in texts:
        seq = tokens(text)
        candidates = {p for variant in set(_deletions(seq, 2)) for p in index.get(variant, ())}
        best: NearDuplicate | None = None
        for position in sorted(candidates):
            other = reference_tokens[position]
            allowed = _allowed_edits(seq, other)
            distance = edit_distance(seq, other, allowed)
            if distance <= allowed and (best is None or distance < best.distance):
                best = NearDuplicate(text, reference_list[position], distance)
        if best is not None:
            found.append(best)
    return found
