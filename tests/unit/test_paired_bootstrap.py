"""The paired bootstrap of a macro-F1 difference (nlu/paired_bootstrap.py)."""

from __future__ import annotations

import random

import pytest

from nlu.evaluation import score
from nlu.paired_bootstrap import paired_difference

LABELS = ["greet", "shipping", "payment", "check_status", "out_of_scope"]


def _predictions(expected: list[str], wrong: float, seed: int) -> list[str]:
    """``expected`` with about a share ``wrong`` of it replaced by another label."""
    rng = random.Random(seed)
    return [rng.choice([x for x in LABELS if x != label]) if rng.random() < wrong else label
            for label in expected]


def test_the_observed_difference_is_the_evaluation_s_own_macro_f1_difference() -> None:
    rng = random.Random(1)
    expected = [rng.choice(LABELS) for _ in range(150)]
    a, b = _predictions(expected, 0.1, 2), _predictions(expected, 0.2, 3)
    labels = sorted(set(expected))

    found = paired_difference(expected, a, b)

    assert found.observed == pytest.approx(
        score(expected, a, labels).macro_f1 - score(expected, b, labels).macro_f1, abs=1e-12)
    assert found.low <= found.observed <= found.high


def test_a_clearly_better_classifier_is_higher_in_every_draw() -> None:
    rng = random.Random(4)
    expected = [rng.choice(LABELS) for _ in range(200)]

    found = paired_difference(expected, list(expected), _predictions(expected, 0.5, 5))

    assert found.low > 0.3 and found.a_higher_share == 1.0


def test_one_message_apart_on_a_small_set_is_within_the_interval_of_no_difference() -> None:
    rng = random.Random(6)
    expected = [rng.choice(LABELS) for _ in range(145)]
    b = _predictions(expected, 0.08, 7)
    a = list(b)
    first_wrong = next(n for n, (x, y) in enumerate(zip(expected, b, strict=True)) if x != y)
    a[first_wrong] = expected[first_wrong]  # a gets one more message right

    found = paired_difference(expected, a, b)

    assert found.observed > 0
    assert found.low <= 0 < found.high
    assert 0.3 < found.a_higher_share < 1.0


def test_identical_predictions_differ_by_nothing_and_the_draws_are_repeatable() -> None:
    expected = ["greet", "shipping", "payment"] * 20
    same = paired_difference(expected, _predictions(expected, 0.2, 8),
                             _predictions(expected, 0.2, 8))
    assert (same.observed, same.low, same.high, same.a_higher_share) == (0.0, 0.0, 0.0, 0.0)

    a, b = _predictions(expected, 0.1, 9), _predictions(expected, 0.3, 10)
    assert paired_difference(expected, a, b) == paired_difference(expected, a, b)


def test_sets_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="equally long"):
        paired_difference(["greet"], ["greet", "greet"], ["greet"])
    with pytest.raises(ValueError, match="not empty"):
        paired_difference([], [], [])
