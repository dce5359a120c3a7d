"""A keyword stand-in of Rasa's HTTP API for the benchmarks: ``POST /model/parse`` answers
the intent of the first keyword found in the text (so the numbers are about the app, not the
model), ``GET /status`` a model file."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from tests.standins import HandlerResult, StandInServer

# What the keyword "Rasa" answers: first keyword found wins; anything else has no intent.
NLU_RULES = {"never arrived": "shipping", "any update": "check_status", "hello": "greet"}


class KeywordRasa(StandInServer):
    """Answers Rasa's ``POST /model/parse`` and ``GET /status`` from :data:`NLU_RULES`."""

    def _routes(self) -> list[tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]]]]:
        return [("POST", "/model/parse", self._on_parse), ("GET", "/status", self._on_status)]

    async def _on_parse(self, request: web.Request) -> web.StreamResponse:
        async def answer(_method: str, params: dict[str, Any]) -> HandlerResult:
            text = str(params.get("text", "")).lower()
            intent = next((i for k, i in NLU_RULES.items() if k in text), None)
            ranking = [{"name": intent, "confidence": 0.95}] if intent else []
            return 200, {"text": text, "intent": ranking[0] if ranking else None,
                         "intent_ranking": ranking, "entities": []}

        return await self._handle(request, "parse", answer)

    async def _on_status(self, request: web.Request) -> web.StreamResponse:
        async def answer(_method: str, _params: dict[str, Any]) -> HandlerResult:
            return 200, {"model_file": "keyword-rasa.tar.gz"}

        return await self._handle(request, "status", answer)
