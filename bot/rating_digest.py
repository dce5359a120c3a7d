"""The sellers' ratings in the daily digest: how many of each level since the last digest,
the reasons given for the lower ones, and those cases with their reason."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from bot import domain as d
from bot.case_rules.evaluation import reason_label, reason_text
from bot.domain import Case, Evaluation
from bot.texts import EVALUATION_LABELS, register, t

register({
    "sched.digest_ratings": "*⭐ Ratings since {since}: {count}*",
    "sched.digest_rating_count": "{count} {level}",
    "sched.digest_rating_reasons": "Reasons: {reasons}",
    "sched.digest_rating_reason": "{label} {count}",
    "sched.digest_rating_no_reason": "no reason given {count}",
    "sched.digest_line_rating": "• {link} {title}: {level}{reason}",
})

RatedCase = tuple[Case, Evaluation]
_SEPARATOR = " · "
_WORDS_MAX = 80


def _short(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def ratings_section(rated: Sequence[RatedCase], since: str, link: Callable[[Case], str],
                    title: Callable[[Case], str], max_items: int) -> tuple[str, list[str], int]:
    """(heading, lines, total lines before the cut) of a channel's ratings section: the
    counts per level, the reasons' counts, then each lower-rated case (at most ``max_items``)."""
    heading = t("sched.digest_ratings", since=since, count=len(rated))
    if not rated:
        return heading, [], 0
    levels = Counter(ev.level for _, ev in rated)
    lines = [_SEPARATOR.join(
        t("sched.digest_rating_count", count=levels[level], level=EVALUATION_LABELS[level])
        for level in d.EVALUATION_LEVELS)]
    lower = [(case, ev) for case, ev in rated if ev.level in d.LEVELS_NEEDING_REASON]
    if lower:
        reasons = Counter(ev.reason_code for _, ev in lower)
        parts = [t("sched.digest_rating_reason", label=reason_label(code), count=reasons[code])
                 for code in d.EVALUATION_REASONS if reasons[code]]
        if reasons[None]:
            parts.append(t("sched.digest_rating_no_reason", count=reasons[None]))
        lines.append(t("sched.digest_rating_reasons", reasons=_SEPARATOR.join(parts)))
    shown = [
        t("sched.digest_line_rating", link=link(case), title=title(case),
          level=EVALUATION_LABELS[ev.level],
          reason=f" — {_short(reason_text(ev), _WORDS_MAX)}" if ev.reason_code else "")
        for case, ev in lower[:max_items]
    ]
    return heading, lines + shown, len(lines) + len(lower)
