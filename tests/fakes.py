"""Test doubles of the engine's ports that are not worth a real server in a unit test."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.classification import Classification
from bot.identifiers import extract_entities


@dataclass
class FakeClassifier:
    """A classifier for tests: keyword rules, then a default.

    ``rules`` maps a lowercase keyword to an intent; the first keyword found in the text wins.
    """

    rules: dict[str, str] = field(default_factory=dict)
    default: str | None = "out_of_scope"
    confidence: float = 0.95
    available: bool = True

    async def classify(self, text: str) -> Classification:
        entities = tuple(extract_entities(text))
        if not self.available:
            return Classification.unavailable(text, entities)
        lowered = text.lower()
        for keyword, intent in self.rules.items():
            if keyword in lowered:
                return Classification(text, intent, self.confidence, entities,
                                      ((intent, self.confidence),))
        conf = self.confidence if self.default else 0.0
        ranking = ((self.default, conf),) if self.default else ()
        return Classification(text, self.default, conf, entities, ranking)
