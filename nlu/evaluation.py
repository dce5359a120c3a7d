"""``frontdoor nlu evaluate``: the Rasa model and a baseline, scored on the held-out set.

The Rasa side is measured against a running server (``POST /model/parse``). Its label counts
as given, except that Rasa's ``nlu_fallback`` (confidence below the FallbackClassifier
threshold of config.yml) counts as ``out_of_scope``: it is the model saying "none of these",
and the engine opens no case on it (its own threshold is higher). The best real intent, what
the app's client reports, is scored too ("Rasa top"). The baseline is a TF-IDF +
logistic-regression classifier (scikit-learn, word 1-2 grams) trained in-process on exactly the
same training examples. Both are scored with the same metrics on the same held-out messages.

Targets: macro-F1 >= 0.92, out_of_scope recall >= 0.85, and Rasa's macro-F1 above the
baseline's.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from nlu.client import FALLBACK_INTENT, ranking_of
from nlu.project import RasaProject, read_examples, read_training_examples

TARGET_MACRO_F1 = 0.92
TARGET_OOS_RECALL = 0.85
OUT_OF_SCOPE = "out_of_scope"
NO_ANSWER = "(none)"


class EvaluationError(RuntimeError):
    """The evaluation could not be done (no held-out data, the NLU server not answering...)."""


@dataclass
class Scores:
    """Metrics of one classifier on the held-out set."""

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
    rasa: str  # Rasa's label, with nlu_fallback read as out_of_scope
    rasa_top: str  # the best real intent (what the app's client reports)
    confidence: float
    baseline: str


@dataclass
class EvaluationReport:
    """Everything ``frontdoor nlu evaluate`` prints and writes."""

    rasa: Scores
    rasa_top: Scores
    baseline: Scores
    fallback_threshold: float | None
    train_examples: int
    test_examples: int
    heldout_file: str
    nlu_url: str
    seconds: float
    predictions: list[Prediction] = field(default_factory=list)

    def target_results(self) -> dict[str, tuple[bool, str]]:
        """Each target: (met, how it stands)."""
        oos = self.rasa.recall(OUT_OF_SCOPE)
        return {
            "macro_f1": (self.rasa.macro_f1 >= TARGET_MACRO_F1,
                         f"{self.rasa.macro_f1:.3f} >= {TARGET_MACRO_F1}"),
            "out_of_scope_recall": (oos >= TARGET_OOS_RECALL, f"{oos:.3f} >= {TARGET_OOS_RECALL}"),
            "beats_baseline": (self.rasa.macro_f1 > self.baseline.macro_f1,
                               f"{self.rasa.macro_f1:.3f} > {self.baseline.macro_f1:.3f}"),
        }

    def failed_targets(self) -> list[str]:
        return [f"{name}: {how}" for name, (met, how) in self.target_results().items() if not met]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["targets"] = {name: {"met": met, "check": how}
                           for name, (met, how) in self.target_results().items()}
        data["misclassified"] = [asdict(p) for p in self.predictions if p.rasa != p.expected]
        del data["predictions"]
        return data


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


def baseline_predictions(train: list[tuple[str, str]], texts: list[str]) -> list[str]:
    """TF-IDF (word 1-2 grams) + logistic regression trained on ``train``, applied to ``texts``."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    model = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True),
        LogisticRegression(C=10.0, max_iter=5000),
    )
    model.fit([text for text, _ in train], [intent for _, intent in train])
    return [str(label) for label in model.predict(texts)]


@dataclass(frozen=True)
class RasaAnswer:
    """Rasa's reading of one message: its own label (possibly ``nlu_fallback``) and the best
    real intent, which is what the app's client reports."""

    label: str
    top_intent: str
    confidence: float


async def rasa_predictions(nlu_url: str, texts: list[str], concurrency: int = 4,
                           timeout: float = 30.0) -> list[RasaAnswer]:
    """Rasa's answer for each text (``POST /model/parse``); fails if the server is down."""
    semaphore = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=timeout) as http:

        async def one(text: str) -> RasaAnswer:
            async with semaphore:
                try:
                    response = await http.post(f"{nlu_url}/model/parse", json={"text": text})
                    response.raise_for_status()
                    payload = response.json()
                except (httpx.HTTPError, ValueError) as exc:
                    raise EvaluationError(f"the NLU server at {nlu_url} did not answer: {exc}") from exc
            label = str((payload.get("intent") or {}).get("name") or NO_ANSWER)
            ranking = ranking_of(payload)
            top, confidence = ranking[0] if ranking else (NO_ANSWER, 0.0)
            return RasaAnswer(label, top, confidence)

        return list(await asyncio.gather(*(one(text) for text in texts)))


def evaluate(nlu_url: str, project: RasaProject | None = None,
             heldout: Path | None = None) -> EvaluationReport:
    """Score the server at ``nlu_url`` and the baseline on the held-out set."""
    project = project or RasaProject()
    heldout = heldout or project.heldout
    test = read_examples(heldout)
    train = read_training_examples(project)
    if not test:
        raise EvaluationError(f"no examples in {heldout}")
    started = time.monotonic()
    texts = [text for text, _ in test]
    expected = [intent for _, intent in test]
    answers = asyncio.run(rasa_predictions(nlu_url, texts))
    # Rasa's fallback ("not confident enough") is its way of saying "none of these": for the
    # scores it counts as out_of_scope, as the engine never opens a case on it.
    rasa = [OUT_OF_SCOPE if a.label == FALLBACK_INTENT else a.label for a in answers]
    baseline = baseline_predictions(train, texts)
    labels = sorted(set(expected))
    return EvaluationReport(
        rasa=score(expected, rasa, labels),
        rasa_top=score(expected, [a.top_intent for a in answers], labels),
        baseline=score(expected, baseline, labels),
        fallback_threshold=fallback_threshold(project),
        train_examples=len(train), test_examples=len(test), heldout_file=str(heldout),
        nlu_url=nlu_url, seconds=time.monotonic() - started,
        predictions=[Prediction(t, e, r, a.top_intent, a.confidence, b)
                     for t, e, r, a, b in zip(texts, expected, rasa, answers, baseline, strict=True)],
    )


def fallback_threshold(project: RasaProject) -> float | None:
    """The FallbackClassifier threshold in the project's config.yml, if there is one."""
    config: Any = yaml.safe_load(project.config.read_text()) or {}
    for component in config.get("pipeline") or []:
        if isinstance(component, dict) and component.get("name") == "FallbackClassifier":
            return float(component.get("threshold", 0.3))
    return None


def format_report(report: EvaluationReport) -> str:
    """The printed summary: both classifiers' totals, per-intent P/R/F1, targets, mistakes."""
    r, t, b = report.rasa, report.rasa_top, report.baseline
    lines = [
        f"held-out set: {report.test_examples} messages ({report.heldout_file}); "
        f"trained on {report.train_examples}",
        "",
        f"{'':22}{'Rasa':>10}{'Rasa top':>10}{'TF-IDF+LR':>11}",
        f"{'accuracy':22}{r.accuracy:>10.3f}{t.accuracy:>10.3f}{b.accuracy:>11.3f}",
        f"{'macro-F1':22}{r.macro_f1:>10.3f}{t.macro_f1:>10.3f}{b.macro_f1:>11.3f}",
        f"{'out_of_scope recall':22}{r.recall(OUT_OF_SCOPE):>10.3f}{t.recall(OUT_OF_SCOPE):>10.3f}"
        f"{b.recall(OUT_OF_SCOPE):>11.3f}",
        f"Rasa: its label, nlu_fallback (confidence < {report.fallback_threshold}) read as "
        "out_of_scope; Rasa top: the best real intent, as the app's client reports it.",
        "",
        f"{'intent':18}{'P':>7}{'R':>7}{'F1':>7}{'n':>5}   baseline F1",
    ]
    for label in r.labels:
        m = r.per_intent[label]
        lines.append(f"{label:18}{m['precision']:>7.2f}{m['recall']:>7.2f}{m['f1']:>7.2f}"
                     f"{int(m['support']):>5}   {b.per_intent[label]['f1']:.2f}")
    lines.append("")
    for name, (met, how) in report.target_results().items():
        lines.append(f"target {name:22} {'met' if met else 'NOT MET':8} ({how})")
    mistakes = [p for p in report.predictions if p.rasa != p.expected]
    if mistakes:
        lines += ["", f"Rasa's mistakes ({len(mistakes)}):"]
        lines += [f"  {p.expected} -> {p.rasa} (top {p.rasa_top} {p.confidence:.2f}): {p.text}"
                  for p in mistakes]
    return "\n".join(lines)


def plot_confusion(scores: Scores, title: str, path: Path) -> None:
    """A confusion-matrix PNG (rows: expected, columns: predicted)."""
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    import matplotlib.pyplot as plt

    size = len(scores.labels)
    fig, ax = plt.subplots(figsize=(0.45 * size + 3, 0.45 * size + 2.5))
    ax.imshow(scores.confusion, cmap="Blues")
    ax.set_xticks(range(size), scores.labels, rotation=70, ha="right", fontsize=8)
    ax.set_yticks(range(size), scores.labels, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("expected")
    ax.set_title(title, fontsize=10)
    peak = max((max(row) for row in scores.confusion), default=0) or 1
    for i, row in enumerate(scores.confusion):
        for j, count in enumerate(row):
            if count:
                ax.text(j, i, str(count), ha="center", va="center", fontsize=7,
                        color="white" if count > peak / 2 else "black")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(report: EvaluationReport, directory: Path) -> list[Path]:
    """Write ``evaluation.json`` and the two confusion-matrix PNGs into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / "evaluation.json"
    json_path.write_text(json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n")
    rasa_png = directory / "confusion_rasa.png"
    base_png = directory / "confusion_baseline.png"
    plot_confusion(report.rasa, f"Rasa DIET: macro-F1 {report.rasa.macro_f1:.3f}", rasa_png)
    plot_confusion(report.baseline, f"TF-IDF + LR baseline: macro-F1 {report.baseline.macro_f1:.3f}",
                   base_png)
    return [json_path, rasa_png, base_png]
