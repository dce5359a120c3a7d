"""How sure a difference in macro-F1 between two classifiers on one test set is.

A test set of 145 messages decides "the model beats the baseline" by one or two messages
either way, so the evaluation also reports a paired bootstrap: the set's messages are drawn
again with replacement many times, both classifiers are scored on each draw (the same
messages for both: paired), and the spread of the differences says how much of the observed
one the choice of messages alone could make. The macro average of a draw is over the labels
that draw expects, as on the whole set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

RESAMPLES = 2000
# Fixed, so one set and one pair of classifiers always report the same interval.
SEED = 20261201


@dataclass(frozen=True)
class Difference:
    """macro-F1(a) - macro-F1(b) on one set, and its paired bootstrap spread."""

    observed: float
    low: float  # 2.5th percentile of the resampled differences
    high: float  # 97.5th percentile
    a_higher_share: float  # share of the draws in which a scores strictly higher
    resamples: int

    def describe(self, a: str, b: str) -> str:
        return (f"{a} - {b} macro-F1: {self.observed:+.3f} (95% paired bootstrap interval "
                f"{self.low:+.3f} to {self.high:+.3f}; {a} higher in "
                f"{100 * self.a_higher_share:.0f}% of {self.resamples:,} draws)")


def _macro_f1(expected: NDArray[np.int64], predicted: NDArray[np.int64], labels: int) -> float:
    """Macro-F1 over the labels ``expected`` holds; F1 = 2 tp / (expected + predicted)."""
    support = np.bincount(expected, minlength=labels)
    chosen = np.bincount(predicted, minlength=labels)
    true_positives = np.bincount(expected[expected == predicted], minlength=labels)
    present = support > 0
    f1 = 2 * true_positives[present] / (support[present] + chosen[present])
    return float(f1.mean())


def paired_difference(expected: Sequence[str], a: Sequence[str], b: Sequence[str],
                      resamples: int = RESAMPLES, seed: int = SEED) -> Difference:
    """The macro-F1 of predictions ``a`` minus that of ``b`` against ``expected`` (one label
    per message each), with its paired bootstrap interval over ``resamples`` draws."""
    if not (len(expected) == len(a) == len(b)) or not expected:
        raise ValueError("expected, a and b must be equally long and not empty")
    names = {name: n for n, name in enumerate(sorted({*expected, *a, *b}))}
    truth = np.array([names[x] for x in expected], dtype=np.int64)
    first = np.array([names[x] for x in a], dtype=np.int64)
    second = np.array([names[x] for x in b], dtype=np.int64)
    labels = len(names)
    observed = _macro_f1(truth, first, labels) - _macro_f1(truth, second, labels)
    draws = np.random.default_rng(seed).integers(0, len(truth), size=(resamples, len(truth)))
    differences = np.array([
        _macro_f1(truth[d], first[d], labels) - _macro_f1(truth[d], second[d], labels)
        for d in draws])
    low, high = np.percentile(differences, [2.5, 97.5])
    return Difference(observed, float(low), float(high), float((differences > 0).mean()),
                      resamples)
