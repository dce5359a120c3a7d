"""The evaluation's rules: which language a line is, and what the app acts on."""

from __future__ import annotations

import pytest

from bot.classification import Classification
from bot.dialogue.config import EngineConfig
from bot.labels import ALL_INTENTS, CASE_TYPES
from nlu.evaluation import (
    OUT_OF_SCOPE,
    EvaluationReport,
    LanguageReport,
    Prediction,
    app_label,
    baseline_predictions,
    language_of,
    score,
)
from nlu.evaluation_report import format_report
from nlu.paired_bootstrap import paired_difference


@pytest.mark.parametrize(("text", "language"), [
    ("my payout is late", "en"),
    ("CX-000012的进度怎么样", "zh"),
    ("ASIN B08XYZ 不可售", "zh"),  # English terms inside Chinese text: Chinese
    ("ＣＸ－００００１２", "en"),  # full-width Latin letters are not Chinese
    ("", "en"),
])
def test_language_of(text: str, language: str) -> None:
    assert language_of(text) == language


def _reading(intent: str | None, confidence: float, text: str = "x") -> Classification:
    return Classification(text, intent, confidence, (), ((intent, confidence),) if intent else ())


def test_app_label_applies_the_engines_two_thresholds() -> None:
    """As bot/dialogue/turn.py: a case type is proposed from nlu_threshold, a conversational
    intent is acted on only from the higher action threshold."""
    config = EngineConfig(nlu_threshold=0.40, nlu_action_threshold=0.55)
    assert app_label(_reading("payment", 0.45), config) == "payment"
    assert app_label(_reading("payment", 0.39), config) == OUT_OF_SCOPE
    assert app_label(_reading("keep_open", 0.51), config) == OUT_OF_SCOPE
    assert app_label(_reading("keep_open", 0.55), config) == "keep_open"
    assert app_label(_reading("greet", 0.50), config) == OUT_OF_SCOPE
    assert app_label(_reading(None, 0.0), config) == OUT_OF_SCOPE
    assert app_label(_reading("payment", 0.45)) == "payment"  # the engine's defaults
    assert app_label(_reading("keep_open", 0.51)) == OUT_OF_SCOPE


def test_a_higher_case_threshold_also_holds_for_intents() -> None:
    config = EngineConfig(nlu_threshold=0.70, nlu_action_threshold=0.55)
    assert app_label(_reading("keep_open", 0.60), config) == OUT_OF_SCOPE
    assert app_label(_reading("payment", 0.60), config) == OUT_OF_SCOPE


@pytest.mark.parametrize("intent", ALL_INTENTS)
def test_confidence_needed_per_kind_of_label(intent: str) -> None:
    config = EngineConfig(nlu_threshold=0.40, nlu_action_threshold=0.55)
    assert config.confidence_needed(intent) == (0.40 if intent in CASE_TYPES else 0.55)
    assert config.confidence_needed(intent, "thanks a lot") == (0.40 if intent in CASE_TYPES else 0.55)


@pytest.mark.parametrize(("text", "needed"), [
    ("谢谢啦", 0.45), ("CX-000012的进度怎么样", 0.45), ("謝謝你", 0.45),
    ("thanks a lot", 0.55), ("ok", 0.55), ("240518K7QW93XZ", 0.55), ("", 0.55),
])
def test_conversational_intents_need_their_languages_threshold(text: str, needed: float) -> None:
    """Chinese text (by script, as bot.i18n reads it) has its own, lower action threshold; text
    in English or in no telling script has the default one."""
    assert EngineConfig().confidence_needed("thank", text) == needed
    assert EngineConfig().confidence_needed("payment", text) == 0.40


def test_app_label_reads_the_texts_language() -> None:
    assert app_label(_reading("thank", 0.50, "谢谢啦")) == "thank"
    assert app_label(_reading("thank", 0.50, "thanks a lot")) == OUT_OF_SCOPE
    assert app_label(_reading("thank", 0.44, "谢谢啦")) == OUT_OF_SCOPE


def test_chinese_baseline_reads_characters() -> None:
    """Word n-grams see a Chinese sentence as one 'word'; the Chinese baseline uses characters."""
    train = [("回款还没到账", "payment"), ("放款什么时候到", "payment"),
             ("包裹丢了", "shipping"), ("快递没有更新", "shipping")]
    answers = baseline_predictions(train, ["我的回款呢", "快递丢了"], "zh")
    assert [label for label, _ in answers] == ["payment", "shipping"]
    assert all(0.0 < probability <= 1.0 for _, probability in answers)


def _report(split: str) -> EvaluationReport:
    labels = ["shipping", "out_of_scope"]
    predictions = [Prediction("where is my parcel", "shipping", "shipping", "shipping", 0.9, "shipping"),
                   Prediction("包裹在哪里呢", "shipping", "out_of_scope", "shipping", 0.3, "shipping")]
    scores = score([p.expected for p in predictions], [p.app for p in predictions], labels)
    language = LanguageReport(
        "zh", f"{split}_zh.yml", scores, scores, scores, scores, 10, 2, 0.40,
        top_vs_baseline=paired_difference([p.expected for p in predictions],
                                          [p.top for p in predictions],
                                          [p.baseline for p in predictions]),
        predictions=predictions)
    return EvaluationReport(split, 0.40, 0.55, "http://nlu.test", 1.0, {"zh": language})


def test_the_final_sets_mistakes_are_counted_not_listed() -> None:
    """Its texts stay unread while the data is tuned (nlu/README.md), in print and in JSON."""
    final, dev = _report("final"), _report("dev")
    assert "包裹在哪里呢" not in format_report(final)
    assert "mistakes: 1 (not listed" in format_report(final)
    assert final.to_json()["languages"]["zh"]["misclassified"] == 1
    assert "包裹在哪里呢" in format_report(dev)
    assert dev.to_json()["languages"]["zh"]["misclassified"][0]["text"] == "包裹在哪里呢"


def test_the_report_says_how_sure_the_difference_from_the_baseline_is() -> None:
    final = _report("final")
    assert ("top - TF-IDF+LR macro-F1: +0.000 (95% paired bootstrap interval +0.000 to "
            "+0.000; top higher in 0% of 2,000 draws)") in format_report(final)
    assert final.to_json()["languages"]["zh"]["top_vs_baseline"]["resamples"] == 2000
