"""The Rasa project's data: the fixed label set, enough varied examples, a clean held-out set."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import yaml

from bot.identifiers import extract_entities
from bot.labels import ALL_INTENTS, CASE_TYPES, CONVERSATION_INTENTS, ENTITY_CASE_NUMBER, ENTITY_ORDER_ID
from nlu.project import RasaProject, read_examples, read_training_examples, strip_annotations

PROJECT = RasaProject()


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def test_domain_is_the_fixed_label_set() -> None:
    domain = yaml.safe_load(PROJECT.domain.read_text())
    assert domain["intents"] == list(ALL_INTENTS)
    assert domain["entities"] == [ENTITY_ORDER_ID, ENTITY_CASE_NUMBER]


def test_training_data_has_enough_examples_per_label() -> None:
    counts = Counter(intent for _, intent in read_training_examples(PROJECT))
    assert set(counts) == set(ALL_INTENTS)
    for case_type in CASE_TYPES:
        assert counts[case_type] >= 60, case_type
    for intent in CONVERSATION_INTENTS:
        assert counts[intent] >= 25, intent


def test_heldout_set_size_and_labels() -> None:
    counts = Counter(intent for _, intent in read_examples(PROJECT.heldout))
    assert set(counts) == set(ALL_INTENTS)
    for case_type in CASE_TYPES:
        assert counts[case_type] >= 15, case_type
    for intent in CONVERSATION_INTENTS:
        assert counts[intent] >= 8, intent


def test_heldout_is_never_trained_on() -> None:
    assert PROJECT.data not in PROJECT.heldout.parents  # `rasa train --nlu data/` can't see it
    training = {_normal(text) for text, _ in read_training_examples(PROJECT)}
    overlap = [text for text, _ in read_examples(PROJECT.heldout) if _normal(text) in training]
    assert overlap == []


def test_no_duplicate_or_contradicting_examples() -> None:
    seen: dict[str, str] = {}
    for text, intent in read_training_examples(PROJECT):
        key = _normal(text)
        assert key not in seen, f"{text!r} is in {seen.get(key)} and {intent}"
        seen[key] = intent


def test_entity_annotations_agree_with_the_extractor() -> None:
    """Every annotated span is what bot.identifiers finds, and nothing it finds is unannotated."""
    for path in sorted(PROJECT.data.glob("*.yml")):
        for raw_line in path.read_text().splitlines():
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
