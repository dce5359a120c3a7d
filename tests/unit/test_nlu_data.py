"""The Rasa project's data: the fixed label set, enough varied examples per language, and
evaluation sets (development and final, per language) apart from training and from each other."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import yaml

from bot.identifiers import extract_entities
from bot.labels import ALL_INTENTS, CASE_TYPES, CONVERSATION_INTENTS, ENTITY_CASE_NUMBER, ENTITY_ORDER_ID
from nlu.evaluation import LANGUAGES, evaluation_set, language_of
from nlu.overlap import near_duplicates
from nlu.project import RasaProject, read_examples, read_training_examples, strip_annotations
from tests.integration.test_rasa_nlu import CASES as SECOND_CHECK_CASES
from tests.integration.test_rasa_nlu import CONVERSATION as SECOND_CHECK_CONVERSATION

PROJECT = RasaProject()


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def test_domain_is_the_fixed_label_set() -> None:
    domain = yaml.safe_load(PROJECT.domain.read_text())
    assert domain["intents"] == list(ALL_INTENTS)
    assert domain["entities"] == [ENTITY_ORDER_ID, ENTITY_CASE_NUMBER]


# Minimum training examples per label and language: (case type, conversation intent).
TRAINING_MINIMUMS = {"en": (60, 25), "zh": (40, 20)}
# Minimum evaluation examples per label: (split, language) -> (case type, conversation intent).
EVALUATION_MINIMUMS = {("dev", "en"): (15, 8), ("dev", "zh"): (5, 3),
                       ("final", "en"): (8, 5), ("final", "zh"): (8, 5)}


def _by_label(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for text, intent in pairs:
        grouped[intent].append(text)
    return grouped


def _evaluation_examples(split: str, language: str) -> list[tuple[str, str]]:
    return read_examples(evaluation_set(PROJECT, split, language))


@pytest.mark.parametrize("language", LANGUAGES)
def test_training_data_has_enough_examples_per_label(language: str) -> None:
    counts = Counter(intent for text, intent in read_training_examples(PROJECT)
                     if language_of(text) == language)
    assert set(counts) == set(ALL_INTENTS)
    per_case_type, per_intent = TRAINING_MINIMUMS[language]
    for case_type in CASE_TYPES:
        assert counts[case_type] >= per_case_type, case_type
    for intent in CONVERSATION_INTENTS:
        assert counts[intent] >= per_intent, intent


@pytest.mark.parametrize(("split", "language"), list(EVALUATION_MINIMUMS))
def test_evaluation_set_size_labels_and_language(split: str, language: str) -> None:
    examples = _evaluation_examples(split, language)
    assert {language_of(text) for text, _ in examples} == {language}
    counts = Counter(intent for _, intent in examples)
    assert set(counts) == set(ALL_INTENTS)
    per_case_type, per_intent = EVALUATION_MINIMUMS[(split, language)]
    for case_type in CASE_TYPES:
        assert counts[case_type] >= per_case_type, case_type
    for intent in CONVERSATION_INTENTS:
        assert counts[intent] >= per_intent, intent


def test_evaluation_sets_are_never_trained_on() -> None:
    """Outside data/ (`rasa train --nlu data/` cannot see them), and no line of any evaluation
    set nearly repeats a training line of the same label: punctuation, spacing, full-width
    forms or one word apart (nlu/overlap.py)."""
    assert all(PROJECT.data not in evaluation_set(PROJECT, split, lang).parents
               for split, lang in EVALUATION_MINIMUMS)
    training = _by_label(read_training_examples(PROJECT))
    leaks = [(split, lang, intent, dup.text, dup.reference)
             for split, lang in EVALUATION_MINIMUMS
             for intent, texts in _by_label(_evaluation_examples(split, lang)).items()
             for dup in near_duplicates(texts, training.get(intent, []))]
    assert leaks == []


def test_final_sets_are_apart_from_the_development_sets() -> None:
    """What was tuned on (dev) says nothing new on the final sets: no near-duplicates."""
    for language in LANGUAGES:
        dev = _by_label(_evaluation_examples("dev", language))
        for intent, final in _by_label(_evaluation_examples("final", language)).items():
            assert near_duplicates(final, dev.get(intent, [])) == [], (language, intent)


def test_second_check_messages_are_new_text() -> None:
    """The messages of tests/integration/test_rasa_nlu.py repeat no training or evaluation line,
    even nearly, whatever the label."""
    seen = [text for text, _ in read_training_examples(PROJECT)]
    seen += [text for split, lang in EVALUATION_MINIMUMS for text, _ in _evaluation_examples(split, lang)]
    messages = [text for text, _ in SECOND_CHECK_CASES + SECOND_CHECK_CONVERSATION]
    assert near_duplicates(messages, seen) == []


def test_no_duplicate_or_contradicting_examples() -> None:
    seen: dict[str, str] = {}
    for text, intent in read_training_examples(PROJECT):
        key = _normal(text)
        assert key not in seen, f"{text!r} is in {seen.get(key)} and {intent}"
        seen[key] = intent


def test_entity_annotations_agree_with_the_extractor() -> None:
    """Every annotated span is what bot.identifiers finds, and nothing it finds is unannotated."""
    for path in sorted(PROJECT.data.glob("*.yml")):
        for raw_line in path.read_text(encoding="utf-8").splitlines():
            line = raw_line.strip()
            if not line.startswith("- ") or line.startswith(("- intent:", "- regex:", "- lookup:")):
                continue
            annotated = line[2:]
            plain = strip_annotations(annotated)
            found = {(e.entity, e.raw) for e in extract_entities(plain)}
            marked = {(name, text) for text, name in re.findall(r"\[([^\]]+)\]\(([^)]+)\)", annotated)}
            assert found == marked, annotated


def test_strip_annotations() -> None:
    assert strip_annotations("see [cx 77](case_number) and [240518K7QW93XZ]{\"entity\": \"order_id\"}") == (
        "see cx 77 and 240518K7QW93XZ")


def test_read_examples_skips_regexes(tmp_path: Path) -> None:
    path = tmp_path / "x.yml"
    path.write_text("nlu:\n- regex: order_id\n  examples: |\n    - \\d+\n"
                    "- intent: greet\n  examples: |\n    - hi\n    - [cx 1](case_number) hello\n")
    assert read_examples(path) == [("hi", "greet"), ("cx 1 hello", "greet")]
