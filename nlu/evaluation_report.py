"""The printed and written forms of an :class:`~nlu.evaluation.EvaluationReport`: a summary per
language, ``evaluation.json`` and one confusion matrix per language and classifier."""

from __future__ import annotations

import json
from pathlib import Path

from nlu.evaluation import OUT_OF_SCOPE, EvaluationReport, LanguageReport, Scores

LANGUAGE_NAMES = {"en": "English", "zh": "Chinese"}


def _language_lines(report: LanguageReport, threshold: float, list_mistakes: bool) -> list[str]:
    a, t, b, ba = report.app, report.top, report.baseline, report.baseline_app
    columns = ((a, 10), (t, 10), (ba, 12), (b, 11))
    lines = [
        f"== {LANGUAGE_NAMES.get(report.language, report.language)} ({report.language}): "
        f"{report.test_examples} messages ({report.heldout_file}); "
        f"trained on {report.train_examples} examples of this language",
        "",
        f"{'':22}{'app':>10}{'top':>10}{'TF-IDF app':>12}{'TF-IDF+LR':>11}",
        f"{'accuracy':22}" + "".join(f"{c.accuracy:>{w}.3f}" for c, w in columns),
        f"{'macro-F1':22}" + "".join(f"{c.macro_f1:>{w}.3f}" for c, w in columns),
        f"{'out_of_scope recall':22}" + "".join(f"{c.recall(OUT_OF_SCOPE):>{w}.3f}" for c, w in columns),
        f"app: the client's top intent, or none (out_of_scope) below the engine's threshold: "
        f"{threshold} for a case type, {report.action_threshold} for a conversational intent; top: the "
        "top intent at any confidence. TF-IDF+LR: the baseline's top label; TF-IDF app: the same "
        "rule on the baseline's probability.",
        "",
        f"{'intent':18}{'P':>7}{'R':>7}{'F1':>7}{'n':>5}   baseline F1",
    ]
    for label in a.labels:
        m = a.per_intent[label]
        lines.append(f"{label:18}{m['precision']:>7.2f}{m['recall']:>7.2f}{m['f1']:>7.2f}"
                     f"{int(m['support']):>5}   {b.per_intent[label]['f1']:.2f}")
    lines.append("")
    for target in report.targets():
        lines.append(f"target {target.name:22} {'met' if target.met else 'NOT MET':8} ({target.check})")
    if report.top_vs_baseline is not None:
        lines.append(report.top_vs_baseline.describe("top", "TF-IDF+LR"))
    mistakes = report.mistakes()
    if mistakes and not list_mistakes:
        lines += ["", f"mistakes: {len(mistakes)} (not listed for the final set: its texts stay "
                  "unread while the data is tuned; use --set dev to see mistakes)"]
    elif mistakes:
        lines += ["", f"mistakes ({len(mistakes)}):"]
        lines += [f"  {p.expected} -> {p.app} (top {p.top} {p.confidence:.2f}): {p.text}"
                  for p in mistakes]
    return lines


def format_report(report: EvaluationReport) -> str:
    """The printed summary: per language, the totals, per-intent P/R/F1, targets and mistakes."""
    lines = [f"split: {report.split}" + (" (development set: used while tuning)"
                                         if report.split == "dev" else " (final test set)")]
    for language_report in report.languages.values():
        lines += ["", *_language_lines(language_report, report.threshold,
                                       list_mistakes=report.split == "dev")]
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
    """Write ``evaluation.json`` and, per language, ``confusion_app_<lang>.png`` and
    ``confusion_baseline_<lang>.png`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / "evaluation.json"
    json_path.write_text(json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n")
    written = [json_path]
    for lang, language_report in report.languages.items():
        app_png = directory / f"confusion_app_{lang}.png"
        base_png = directory / f"confusion_baseline_{lang}.png"
        plot_confusion(language_report.app, f"{lang} {report.split}, app rule: macro-F1 "
                       f"{language_report.app.macro_f1:.3f}", app_png)
        plot_confusion(language_report.baseline, f"{lang} {report.split}, TF-IDF + LR: macro-F1 "
                       f"{language_report.baseline.macro_f1:.3f}", base_png)
        written += [app_png, base_png]
    return written
