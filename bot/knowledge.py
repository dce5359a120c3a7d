"""The self-help knowledge base (rule 9): one short article per case type, in YAML.

The file ships with the project (``bot/knowledge_base.yml``) and operators may replace it
(``FRONTDOOR_KNOWLEDGE_BASE``). Format::

    articles:
      account_access:
        title: Can't sign in?
        body: |
          1. Reset your password ...
        link: https://...   # optional

``{brand}`` in a title or body stands for the marketplace's name (FRONTDOOR_BRAND), so the
articles speak of the seller's own marketplace, whatever it is called.

The English texts are msgids of the gettext catalogues (context ``kb.<case type>.title`` /
``.body``): a seller reads the article in their language when the catalogue has it, and an
operator's own articles (not in the catalogue) in English as written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot import i18n
from bot.labels import CASE_TYPES

DEFAULT_PATH = Path(__file__).with_name("knowledge_base.yml")
DEFAULT_BRAND = "Ceylexo"
BRAND = "{brand}"
MAX_BODY_CHARS = 1500  # an article is a short answer, not a manual (fits one chat message)


class KnowledgeBaseError(ValueError):
    """The knowledge-base file is malformed; the message says where."""


@dataclass(frozen=True)
class Article:
    case_type: str
    title: str
    body: str
    link: str | None = None


class KnowledgeBase:
    """Articles by case type. Types without an article skip self-help."""

    def __init__(self, articles: Mapping[str, Article] | None = None,
                 brand: str = DEFAULT_BRAND) -> None:
        # Kept as written ({brand} included): the catalogues translate the written text.
        self._articles = dict(articles or {})
        self.brand = brand

    def article(self, case_type: str | None) -> Article | None:
        """The article for ``case_type`` in the current seller's language, with the brand."""
        written = self._articles.get(case_type) if case_type else None
        if written is None:
            return None
        return Article(written.case_type, self._render(f"kb.{written.case_type}.title",
                                                       written.title),
                       self._render(f"kb.{written.case_type}.body", written.body), written.link)

    def written(self) -> list[Article]:
        """The articles as written in the file (English, ``{brand}`` not filled in)."""
        return list(self._articles.values())

    def _render(self, key: str, text: str) -> str:
        # Not str.format: an article may hold other braces.
        return i18n.translate(key, text).replace(BRAND, self.brand)

    def __len__(self) -> int:
        return len(self._articles)

    @classmethod
    def from_dict(cls, data: Any, source: str = "<dict>",
                  brand: str = DEFAULT_BRAND) -> KnowledgeBase:
        """Validate and build; unknown case types and empty texts are errors, not surprises."""
        if not isinstance(data, Mapping) or not isinstance(data.get("articles", {}), Mapping):
            raise KnowledgeBaseError(f"{source}: expected a mapping with an 'articles' mapping")
        articles: dict[str, Article] = {}
        for case_type, entry in (data.get("articles") or {}).items():
            where = f"{source}: articles.{case_type}"
            if case_type not in CASE_TYPES:
                raise KnowledgeBaseError(f"{where}: unknown case type (use one of {', '.join(CASE_TYPES)})")
            if not isinstance(entry, Mapping):
                raise KnowledgeBaseError(f"{where}: expected title and body")
            title = str(entry.get("title") or "").strip()
            body = str(entry.get("body") or "").strip()
            if not title or not body:
                raise KnowledgeBaseError(f"{where}: title and body are required")
            if len(body.replace(BRAND, brand)) > MAX_BODY_CHARS:
                raise KnowledgeBaseError(f"{where}: body is {len(body)} characters; keep it under "
                                         f"{MAX_BODY_CHARS}")
            link = entry.get("link")
            articles[case_type] = Article(case_type, title, body, str(link) if link else None)
        return cls(articles, brand)

    @classmethod
    def load(cls, path: Path | str | None = None, brand: str = DEFAULT_BRAND) -> KnowledgeBase:
        """Read the YAML file at ``path`` (default: the one shipped with the project), with
        ``brand`` for ``{brand}``."""
        file = Path(path) if path else DEFAULT_PATH
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise KnowledgeBaseError(f"{file}: not valid YAML: {exc}") from exc
        return cls.from_dict(data, str(file), brand)
