"""The translators' template: every seller-facing text with its key, read from the code (the
text catalogue, the labels, the knowledge-base articles) rather than scraped from calls.

``python -m bot.i18n_catalogue [PATH]`` writes ``bot/locale/messages.pot``; ``make
translations`` then merges it into each language's ``.po`` (``pybabel update``) and compiles
them (``pybabel compile``). Each entry's msgctxt is the text's key and its msgid the English
text, so a changed English text comes back fuzzy for the translator to check.
"""

from __future__ import annotations

import importlib
import pkgutil
import string
import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

import bot
from bot import i18n
from bot.knowledge import KnowledgeBase
from bot.texts import CATALOGUE, Plural, for_sellers, label_sources

TEMPLATE = i18n.LOCALE_DIR / f"{i18n.DOMAIN}.pot"
#: Texts as the catalogue holds them: a plain English text, or (singular, plural).
Source = str | tuple[str, str]


def load_every_text() -> None:
    """Import every engine module: some add their own group of texts on import."""
    for info in pkgutil.walk_packages(bot.__path__, "bot."):
        importlib.import_module(info.name)


def sources() -> Iterator[tuple[str, Source]]:
    """(key, English) of every text a seller may read, in a stable order."""
    load_every_text()
    for key in sorted(CATALOGUE):
        if for_sellers(key):
            text = CATALOGUE[key]
            yield key, (text.one, str(text)) if isinstance(text, Plural) else text
    yield from sorted(label_sources().items())
    for article in KnowledgeBase.load().written():
        yield f"kb.{article.case_type}.title", article.title
        yield f"kb.{article.case_type}.body", article.body


def placeholders(text: str) -> set[str]:
    """The ``{names}`` a text fills in (what every translation must keep)."""
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}
    except ValueError:
        return set()  # not a template (an article with a stray brace): nothing to keep


def template() -> Catalog:
    catalog = Catalog(project="Frontdoor", msgid_bugs_address="", fuzzy=False)
    for key, english in sources():
        texts = english if isinstance(english, tuple) else (english,)
        names = set().union(*(placeholders(text) for text in texts))
        comments = [f"Keep: {', '.join('{' + n + '}' for n in sorted(names))}"] if names else []
        catalog.add(english, context=key, auto_comments=comments,
                    flags=("python-brace-format",) if names else ())
    return catalog


def write_template(path: Path = TEMPLATE) -> int:
    """Write the template; the number of entries."""
    catalog = template()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        write_po(out, catalog, width=100, omit_header=False, sort_output=False)
    return len(catalog)


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else TEMPLATE
    print(f"{write_template(target)} texts written to {target}")
