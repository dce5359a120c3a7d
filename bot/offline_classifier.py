"""The classifier of `frontdoor chat --no-nlu`: no NLU runs, so every message reads as "the NLU
is unavailable", with order ids and case numbers still found in it. The engine then does what
it does when Rasa is down: it offers the case types as buttons and files what it can place."""

from __future__ import annotations

from bot.classification import Classification
from bot.identifiers import extract_entities


class OfflineClassifier:
    async def classify(self, text: str) -> Classification:
        return Classification.unavailable(text, tuple(extract_entities(text)))
