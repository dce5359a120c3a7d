"""The custom Rasa component's rule for combining two opinions on the intent
(nlu/rasa/components/tfidf_second_opinion.py), run where the component runs: the Rasa
environment's Python, with the components directory on its path as training and serving put it.
The model's scores with the component are checked by test_rasa_nlu.py."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from frontdoor.settings import load_settings
from nlu.environment import ensure_rasa_env, subprocess_env

pytestmark = [pytest.mark.rasa, pytest.mark.timeout(1800)]

_RANK = """
import json, sys
from tfidf_second_opinion import combined_ranking
cases = json.load(sys.stdin)
print(json.dumps([combined_ranking(first, second, weight) for first, second, weight in cases]))
"""


def _in_rasa_environment(script: str, given: Any) -> Any:
    """What ``script`` prints (JSON), run by the Rasa environment's Python with ``given`` as
    JSON on its standard input."""
    rasa = ensure_rasa_env(load_settings().frontdoor_cache_dir, out=sys.stderr)
    done = subprocess.run([str(rasa.parent / "python"), "-c", script], input=json.dumps(given),
                          capture_output=True, text=True, env=subprocess_env(), timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def _rankings(cases: list[tuple[dict[str, float], dict[str, float], float]]) -> list[list[dict[str, float]]]:
    result: list[list[dict[str, float]]] = _in_rasa_environment(_RANK, cases)
    return result


def test_the_mean_ranks_and_the_surer_opinion_gives_the_top_confidence() -> None:
    agree, disagree, one_sided, weighted = _rankings([
        ({"payment": 0.7, "order": 0.3}, {"payment": 0.5, "order": 0.2, "greet": 0.3}, 0.5),
        # The pipeline's classifier leans to order; the second opinion is sure of payment.
        ({"order": 0.6, "payment": 0.4}, {"payment": 0.9, "order": 0.1}, 0.5),
        # A label only one of them ranked counts 0 in the other.
        ({"order": 0.5, "greet": 0.5}, {"cancel": 0.8, "order": 0.2}, 0.5),
        ({"order": 0.6, "payment": 0.4}, {"payment": 0.9, "order": 0.1}, 0.8),
    ])
    assert [item["name"] for item in agree] == ["payment", "order", "greet"]
    assert agree[0]["confidence"] == pytest.approx(0.7)
    assert agree[1]["confidence"] == pytest.approx(0.25) and agree[2]["confidence"] == pytest.approx(0.15)
    assert disagree[0] == {"name": "payment", "confidence": pytest.approx(0.9)}
    assert disagree[1] == {"name": "order", "confidence": pytest.approx(0.35)}
    assert one_sided[0] == {"name": "cancel", "confidence": pytest.approx(0.8)}
    assert [item["name"] for item in one_sided[1:]] == ["order", "greet"]
    # With most of the weight on the pipeline's classifier, its label wins.
    assert weighted[0] == {"name": "order", "confidence": pytest.approx(0.6)}


def test_no_opinion_gives_no_ranking() -> None:
    assert _rankings([({}, {}, 0.5)]) == [[]]


_COMPARE = """
import json, sys
from tfidf_second_opinion import FastScorer, _vectorizer_and_classifier
train, texts = json.load(sys.stdin)
model = _vectorizer_and_classifier(30.0, 2024).fit([t for t, _ in train], [i for _, i in train])
fast = [list(FastScorer(model).probabilities(text)) for text in texts]
slow = [list(row) for row in model.predict_proba(texts)]
print(json.dumps({"fast": fast, "slow": slow}))
"""


def test_the_fast_scorer_gives_sklearns_probabilities() -> None:
    train = [("my payout has not arrived", "payment"), ("货款还没到账", "payment"),
             ("where is my parcel", "shipping"), ("包裹还没到", "shipping"),
             ("hello", "greet"), ("你好", "greet"), ("thanks a lot", "thank")]
    texts = ["订单240518K7QW93XZ的货款还没到账", "payout payout payout late", "PARCEL?", "",
             "!!!", "an unseen sentence entirely", "你好，包裹呢"]
    result = _in_rasa_environment(_COMPARE, [train, texts])
    assert len(result["fast"]) == len(texts)
    for fast, slow in zip(result["fast"], result["slow"], strict=True):
        assert fast == pytest.approx(slow, abs=1e-12)
