"""The engine's classifier over Rasa's HTTP API (``POST /model/parse``).

:class:`RasaClassifier` implements :class:`bot.classification.Classifier`: it never raises for
transport trouble. Each attempt has a timeout; connection errors, timeouts and 5xx answers are
retried a bounded number of times with a short backoff, and then the result is
``Classification.unavailable`` (the engine offers case types as buttons instead).

Entities always come from :mod:`bot.identifiers`, not from Rasa, so they are the same whether
the server is up or not. The client reports Rasa's best real intent and its confidence; whether
that is confident enough is the engine's decision (``FRONTDOOR_NLU_THRESHOLD``), so Rasa's own
``nlu_fallback`` label is skipped in favour of the intent ranked below it.
"""

from __future__ import annotations

import asyncio
import logging
from types import TracebackType
from typing import Any

import httpx

from bot.classification import Classification
from bot.identifiers import extract_entities
from nlu.model_text import model_text

log = logging.getLogger(__name__)

FALLBACK_INTENT = "nlu_fallback"


class _Unanswered(Exception):
    """One attempt got no usable answer; ``retry`` says whether another attempt may help."""

    def __init__(self, reason: str, retry: bool) -> None:
        super().__init__(reason)
        self.retry = retry


def ranking_of(payload: dict[str, Any]) -> tuple[tuple[str, float], ...]:
    """(intent, confidence) pairs of a ``/model/parse`` answer, best first, without Rasa's
    ``nlu_fallback``."""
    ranking: list[tuple[str, float]] = []
    items = payload.get("intent_ranking") or []
    if not items and isinstance(payload.get("intent"), dict):
        items = [payload["intent"]]
    for item in items:
        name = item.get("name") if isinstance(item, dict) else None
        if name and name != FALLBACK_INTENT:
            ranking.append((str(name), float(item.get("confidence") or 0.0)))
    return tuple(ranking)


class RasaClassifier:
    """Classifies seller text with a Rasa server at ``base_url``.

    ``timeout`` bounds each attempt (seconds); ``retries`` is how many more attempts follow a
    failed one, ``backoff`` the first pause between them (doubled each time). Pass ``client``
    to share an ``httpx.AsyncClient`` (it is then not closed by :meth:`aclose`).
    """

    def __init__(self, base_url: str, *, timeout: float = 5.0, retries: int = 2, backoff: float = 0.1,
                 case_prefix: str = "CX", client: httpx.AsyncClient | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retries = max(0, retries)
        self.backoff = backoff
        self.case_prefix = case_prefix
        self._own_client = client is None
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
        )

    async def classify(self, text: str) -> Classification:
        """Rasa's reading of ``text``; ``Classification.unavailable`` if Rasa cannot answer."""
        entities = tuple(extract_entities(text, self.case_prefix))
        if not text.strip():
            return Classification(text, None, 0.0, entities)
        # Full-width forms folded and reference codes left out (nlu.model_text says why).
        payload = await self._parse(model_text(text, self.case_prefix))
        if payload is None:
            return Classification.unavailable(text, entities)
        ranking = ranking_of(payload)
        if not ranking:
            return Classification(text, None, 0.0, entities)
        intent, confidence = ranking[0]
        return Classification(text, intent, confidence, entities, ranking)

    async def _parse(self, text: str) -> dict[str, Any] | None:
        """The JSON of ``/model/parse``, or None after the attempts are used up."""
        attempts = self.retries + 1
        for attempt in range(attempts):
            try:
                return await self._attempt(text)
            except _Unanswered as exc:
                if not exc.retry or attempt == attempts - 1:
                    log.warning("NLU unavailable after %d attempt(s): %s", attempt + 1, exc)
                    return None
                log.info("NLU attempt %d failed (%s); retrying", attempt + 1, exc)
            await asyncio.sleep(self.backoff * (2**attempt))
        return None  # pragma: no cover - the loop always returns

    async def _attempt(self, text: str) -> dict[str, Any]:
        try:
            response = await self._client.post(
                f"{self.base_url}/model/parse", json={"text": text}, timeout=self.timeout)
        except httpx.TransportError as exc:  # connect errors, timeouts, broken connections
            raise _Unanswered(f"{type(exc).__name__}: {exc}", retry=True) from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise _Unanswered(f"HTTP {response.status_code}", retry=True)
        if response.status_code != 200:
            raise _Unanswered(f"HTTP {response.status_code}", retry=False)
        try:
            payload = response.json()
        except ValueError as exc:
            raise _Unanswered("the answer is not JSON", retry=True) from exc
        if not isinstance(payload, dict):
            raise _Unanswered("the answer is not a JSON object", retry=True)
        return payload

    async def ready(self) -> bool:
        """True when the server answers ``/status`` with a model loaded (for ``/readyz``)."""
        try:
            response = await self._client.get(f"{self.base_url}/status", timeout=self.timeout)
            return response.status_code == 200 and bool(response.json().get("model_file"))
        except (httpx.HTTPError, ValueError, AttributeError):
            return False

    async def aclose(self) -> None:
        """Close the HTTP client if this classifier created it."""
        if self._own_client:
            await self._client.aclose()

    async def __aenter__(self) -> RasaClassifier:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()
