"""``frontdoor nlu evaluate``: the model as the app uses it, and a baseline, per language.

Evaluation sets live in ``nlu/rasa/tests`` (outside ``data/``, so training never sees them), one
file per split and language: ``dev_<lang>.yml`` is the development set, used while tuning the
data and the pipeline; ``final_<lang>.yml`` is the final test set, not looked at while tuning
(only its scores are read). The default is the final set.

The model is scored with the app's decision rule: the app's client (:class:`RasaClassifier`,
which reports Rasa's best real intent) and the engine's thresholds
(:meth:`EngineConfig.confidence_needed`): a case type is taken from ``nlu_threshold``
(``FRONTDOOR_NLU_THRESHOLD``, 0.40), a conversational intent only from the action threshold of
the text's language (0.55; Chinese text 0.45, where the model's confidences run lower). Below
its threshold the engine acts on no intent (it asks, and opens no case), which counts as
``out_of_scope``; Rasa's own ``nlu_fallback`` plays no part.
"Top" is the best intent whatever its confidence. The baseline is TF-IDF + logistic regression
(scikit-learn) trained in-process on the same training examples of the same language: word 1-2
grams for English, character 1-3 grams for Chinese (no spaces between words). Both are scored
with the same metrics.

Targets (issues 3 and 16), per language on the final set: app-rule macro-F1 at least the
language's target, out_of_scope recall >= 0.85, and the baseline beaten under the same rule both
ways (top label against top label; the thresholds on each one's own confidence).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bot.classification import Classification
from bot.dialogue.config import EngineConfig
from bot.i18n import CHINESE, ENGLISH
from nlu.client import RasaClassifier
from nlu.paired_bootstrap import Difference, paired_difference
from nlu.project import RasaProject, read_examples, read_training_examples

LANGUAGES = ("en", "zh")
SPLITS = ("final", "dev")
# The engine's defaults; the CLI builds its EngineConfig from the settings as the app does.
DEFAULT_CONFIG = EngineConfig()
# Issue 16: Chinese >= 0.90; English not lower than before Chinese was added. 0.795 is the
# app-rule macro-F1 of that model (feea469c, 2026-11-30) on final_en.yml, measured before any
# change to the data or the pipeline (docs/benchmarks.md, NLU section).
TARGET_MACRO_F1 = {"en": 0.795, "zh": 0.90}
TARGET_OOS_RECALL = 0.85
OUT_OF_SCOPE = "out_of_scope"
NO_ANSWER = "(none)"

# The engine's name (bot.i18n) of each evaluation language.
_SPEAKER_LANGUAGE = {"en": ENGLISH, "zh": CHINESE}
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


class EvaluationError(RuntimeError):
    """The evaluation could not be done (no held-out data, the NLU server not answering...)."""


def language_of(text: str) -> str:
    """``zh`` for text with any Chinese character (sellers mix in English terms), else ``en``."""
    return "zh" if _CJK.search(text) else "en"


def evaluation_set(project: RasaProject, split: str, language: str) -> Path:
    """The file of one split (``dev`` or ``final``) in one language."""
    return project.evaluation_dir / f"{split}_{language}.yml"


@dataclass
class Scores:
    """Metrics of one classifier on one evaluation set."""

    accuracy: float
    macro_f1: float
    per_intent: dict[str, dict[str, float]]
    labels: list[str]
    confusion: list[list[int]]

    def recall(self, intent: str) -> float:
        return self.per_intent.get(intent, {}).get("recall", 0.0)


@dataclass
class Prediction:
    text: str
    expected: str
    app: str  # what the engine acts on: the top intent, or out_of_scope below its threshold
    top: str  # the best real intent, as the client reports it
    confidence: float
    baseline: str


@dataclass
class Target:
    name: str
    met: bool
    check: str


@dataclass
class LanguageReport:
    """One language's scores on its evaluation set."""

    language: str
    heldout_file: str
    app: Scores
    top: Scores
    baseline: Scores
    baseline_app: Scores  # the baseline under the app's rule: its probability at the thresholds
    train_examples: int
    test_examples: int
    action_threshold: float  # conversational intents in this language's text
    #: top intent against the baseline's top label, with how much the set's draw could move it
    top_vs_baseline: Difference | None = None
    predictions: list[Prediction] = field(default_factory=list)

    def targets(self) -> list[Target]:
        goal = TARGET_MACRO_F1.get(self.language, max(TARGET_MACRO_F1.values()))
        f1, oos = self.app.macro_f1, self.app.recall(OUT_OF_SCOPE)
        top, base, base_app = self.top.macro_f1, self.baseline.macro_f1, self.baseline_app.macro_f1
        # The baseline is beaten under the same rule both ways: top label against top label, and
        # the app's threshold on each one's own confidence.
        return [
            Target("macro_f1", f1 >= goal, f"{f1:.3f} >= {goal}"),
            Target("out_of_scope_recall", oos >= TARGET_OOS_RECALL, f"{oos:.3f} >= {TARGET_OOS_RECALL}"),
            Target("beats_baseline_top", top > base, f"top {top:.3f} > {base:.3f}"),
            Target("beats_baseline_app", f1 > base_app, f"app {f1:.3f} > {base_app:.3f}"),
        ]

    def mistakes(self) -> list[Prediction]:
        return [p for p in self.predictions if p.app != p.expected]


@dataclass
class EvaluationReport:
    """Everything ``frontdoor nlu evaluate`` prints and writes."""

    split: str
    threshold: float  # case types
    action_threshold: float  # conversational intents, by default (each language report has its own)
    nlu_url: str
    seconds: float
    languages: dict[str, LanguageReport]

    def failed_targets(self) -> list[str]:
        return [f"{lang} {t.name}: {t.check}" for lang, report in self.languages.items()
                for t in report.targets() if not t.met]

    def to_json(self) -> dict[str, Any]:
        languages = {}
        for lang, report in self.languages.items():
            data = asdict(report)
            del data["predictions"]
            data["targets"] = {t.name: {"met": t.met, "check": t.check} for t in report.targets()}
            # The final set's texts stay unread (nlu/README.md): its mistakes are counted, not
            # listed, so nobody tunes the data on them by accident.
            data["misclassified"] = ([asdict(p) for p in report.mistakes()]
                                     if self.split == "dev" else len(report.mistakes()))
            languages[lang] = data
        return {"split": self.split, "threshold": self.threshold,
                "action_threshold": self.action_threshold, "nlu_url": self.nlu_url,
                "seconds": self.seconds, "languages": languages,
                "failed_targets": self.failed_targets()}


def score(expected: list[str], predicted: list[str], labels: list[str]) -> Scores:
    """Accuracy, macro-F1 over ``labels``, per-intent P/R/F1 and the confusion matrix."""
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    precision, recall, f1, support = precision_recall_fscore_support(
        expected, predicted, labels=labels, zero_division=0)
    per_intent = {
        label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
    }
    return Scores(
        accuracy=float(accuracy_score(expected, predicted)),
        macro_f1=float(sum(float(x) for x in f1) / len(labels)),
        per_intent=per_intent,
        labels=labels,
        confusion=confusion_matrix(expected, predicted, labels=labels).tolist(),
    )


def baseline_predictions(train: list[tuple[str, str]], texts: list[str],
                         language: str = "en") -> list[tuple[str, float]]:
    """TF-IDF + logistic regression trained on ``train``, applied to ``texts``: (label, its
    probability) each. Word 1-2 grams for English, character 1-3 grams for Chinese."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    vectorizer = (TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, lowercase=True)
                  if language == "zh" else
                  TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True))
    model = make_pipeline(vectorizer, LogisticRegression(C=10.0, max_iter=5000))
    model.fit([text for text, _ in train], [intent for _, intent in train])
    classes = [str(label) for label in model.classes_]
    return [(classes[int(row.argmax())], float(row.max())) for row in model.predict_proba(texts)]


async def app_classifications(nlu_url: str, texts: list[str], concurrency: int = 4,
                              timeout: float = 30.0) -> list[Classification]:
    """The app client's reading of each text; fails if the server does not answer."""
    semaphore = asyncio.Semaphore(concurrency)
    async with RasaClassifier(nlu_url, timeout=timeout, retries=1) as client:

        async def one(text: str) -> Classification:
            async with semaphore:
                result = await client.classify(text)
            if not result.available:
                raise EvaluationError(f"the NLU server at {nlu_url} did not answer")
            return result

        return list(await asyncio.gather(*(one(text) for text in texts)))


def app_label(result: Classification, rule: EngineConfig = DEFAULT_CONFIG) -> str:
    """What the engine acts on: the top intent if confident enough for its kind
    (:meth:`EngineConfig.confidence_needed`), else no intent (counted as out_of_scope: the
    engine opens nothing and asks)."""
    return _decided(result.intent, result.confidence, result.text, rule)


def _decided(label: str | None, confidence: float, text: str, rule: EngineConfig) -> str:
    if label is None:
        return OUT_OF_SCOPE
    return label if confidence >= rule.confidence_needed(label, text) else OUT_OF_SCOPE


def _language_report(language: str, heldout: Path, test: list[tuple[str, str]],
                     train: list[tuple[str, str]], results: list[Classification],
                     config: EngineConfig) -> LanguageReport:
    texts = [text for text, _ in test]
    expected = [intent for _, intent in test]
    app = [app_label(r, config) for r in results]
    top = [r.intent or NO_ANSWER for r in results]
    baseline_answers = baseline_predictions(train, texts, language)
    baseline = [label for label, _ in baseline_answers]
    baseline_app = [_decided(label, probability, text, config)
                    for text, (label, probability) in zip(texts, baseline_answers, strict=True)]
    labels = sorted(set(expected))
    return LanguageReport(
        language=language, heldout_file=str(heldout),
        app=score(expected, app, labels), top=score(expected, top, labels),
        baseline=score(expected, baseline, labels),
        baseline_app=score(expected, baseline_app, labels),
        train_examples=len(train), test_examples=len(test),
        action_threshold=config.action_threshold(_SPEAKER_LANGUAGE.get(language)),
        top_vs_baseline=paired_difference(expected, top, baseline),
        predictions=[Prediction(t, e, a, p, r.confidence, b) for t, e, a, p, r, b in
                     zip(texts, expected, app, top, results, baseline, strict=True)],
    )


def evaluate(nlu_url: str, project: RasaProject | None = None, split: str = "final",
             config: EngineConfig = DEFAULT_CONFIG, heldout: Path | None = None) -> EvaluationReport:
    """Score the server at ``nlu_url`` and the baselines on ``split``, per language, with the
    thresholds of ``config`` (the engine's). With ``heldout``, that one file instead (its
    language: that of most of its examples)."""
    project = project or RasaProject()
    if split not in SPLITS:
        raise EvaluationError(f"unknown split {split!r} (one of {', '.join(SPLITS)})")
    sets: dict[str, tuple[Path, list[tuple[str, str]]]] = {}
    if heldout is not None:
        examples = read_examples(heldout)
        if not examples:
            raise EvaluationError(f"no examples in {heldout}")
        majority = Counter(language_of(text) for text, _ in examples).most_common(1)[0][0]
        sets[majority] = (heldout, examples)
    else:
        for language in LANGUAGES:
            path = evaluation_set(project, split, language)
            examples = read_examples(path) if path.is_file() else []
            if examples:
                sets[language] = (path, examples)
        if not sets:
            raise EvaluationError(f"no {split} examples in {project.evaluation_dir}")
    training = read_training_examples(project)
    started = time.monotonic()
    reports: dict[str, LanguageReport] = {}
    for language, (path, test) in sets.items():
        results = asyncio.run(app_classifications(nlu_url, [text for text, _ in test]))
        train = [pair for pair in training if language_of(pair[0]) == language]
        reports[language] = _language_report(language, path, test, train, results, config)
    return EvaluationReport(split, config.nlu_threshold, config.confidence_needed(OUT_OF_SCOPE),
                            nlu_url, time.monotonic() - started, reports)
