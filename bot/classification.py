"""What the engine needs from a classifier: the port that `nlu/` implements over Rasa's HTTP API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Entity:
    """An extracted entity; `value` is normalised (e.g. case numbers as ``CX-004512``)."""

    entity: str
    value: str
    raw: str = ""


@dataclass(frozen=True)
class Classification:
    """The classifier's reading of one message.

    ``available`` is False when the NLU service could not be reached; the engine then offers
    case types as buttons instead of failing. ``ranking`` holds (intent, confidence) pairs,
    best first, and may be empty.
    """

    text: str
    intent: str | None
    confidence: float
    entities: tuple[Entity, ...] = ()
    ranking: tuple[tuple[str, float], ...] = ()
    available: bool = True

    def entity(self, name: str) -> str | None:
        """The first value of entity ``name``, or None."""
        for ent in self.entities:
            if ent.entity == name:
                return ent.value
        return None

    @classmethod
    def unavailable(cls, text: str, entities: tuple[Entity, ...] = ()) -> Classification:
        """The result used when the NLU service is down: no intent, entities still extracted."""
        return cls(text=text, intent=None, confidence=0.0, entities=entities, available=False)


class Classifier(Protocol):
    """Classifies seller text. Implementations must never raise for transport errors."""

    async def classify(self, text: str) -> Classification: ...
