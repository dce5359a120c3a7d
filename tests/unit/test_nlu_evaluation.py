"""The evaluation's rules: which language a line is, and what the app acts on."""

from __future__ import annotations

import pytest

from bot.classification import Classification
from nlu.evaluation import OUT_OF_SCOPE, app_label, baseline_predictions, language_of


@pytest.mark.parametrize(("text", "language"), [
    ("my payout is late", "en"),
    ("CX-000012的进度怎么样", "zh"),
    ("ASIN B08XYZ 不可售", "zh"),  # English terms inside Chinese text: Chinese
    ("ＣＸ－００００１２", "en"),  # full-width Latin letters are not Chinese
    ("", "en"),
])
def test_language_of(text: str, language: str) -> None:
    assert language_of(text) == language


def test_app_label_applies_the_engine_threshold() -> None:
    confident = Classification("x", "payment", 0.8, (), (("payment", 0.8),))
    unsure = Classification("x", "payment", 0.5, (), (("payment", 0.5),))
    nothing = Classification("x", None, 0.0)
    assert app_label(confident, 0.55) == "payment"
    assert app_label(unsure, 0.55) == OUT_OF_SCOPE
    assert app_label(nothing, 0.55) == OUT_OF_SCOPE


def test_chinese_baseline_reads_characters() -> None:
    """Word n-grams see a Chinese sentence as one 'word'; the Chinese baseline uses characters."""
    train = [("回款还没到账", "payment"), ("放款什么时候到", "payment"),
             ("包裹丢了", "shipping"), ("快递没有更新", "shipping")]
    answers = baseline_predictions(train, ["我的回款呢", "快递丢了"], "zh")
    assert [label for label, _ in answers] == ["payment", "shipping"]
    assert all(0.0 < probability <= 1.0 for _, probability in answers)
