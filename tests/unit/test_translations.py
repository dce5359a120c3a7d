"""The shipped catalogues: every seller-facing text has a translation in every language,
with the same placeholders, and the template and the catalogues are current with the code."""

from __future__ import annotations

import gettext
import io
import os
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from bot import i18n
from bot.i18n_catalogue import Source, placeholders, sources, template

SHIPPED = [lang for lang in i18n.LANGUAGES if lang != i18n.SOURCE_LANGUAGE]


def _catalogue(language: str) -> Catalog:
    with i18n.catalogue_path(language).open("rb") as po:
        return read_po(po)


def _forms(english: Source) -> tuple[str, ...]:
    return english if isinstance(english, tuple) else (english,)


def test_every_shipped_language_has_a_catalogue() -> None:
    found = sorted(p.parent.parent.name for p in i18n.LOCALE_DIR.glob("*/LC_MESSAGES/*.po"))
    assert found == sorted(SHIPPED)
    assert set(i18n.LANGUAGE_NAMES) == set(i18n.LANGUAGES) == set(i18n.DEFAULT_TIME_ZONES)


@pytest.mark.parametrize("language", SHIPPED)
def test_every_text_is_translated_with_the_same_placeholders(language: str) -> None:
    catalogue = _catalogue(language)
    problems: list[str] = []
    texts = list(sources())
    assert len(texts) > 250, "the template found too few texts: is the extraction right?"
    for key, english in texts:
        message: Message | None = catalogue.get(english, context=key)
        if message is None:
            problems.append(f"{key}: no entry for its current English (run make translations)")
            continue
        translated = [s for s in (message.string if isinstance(message.string, tuple)
                                  else (message.string,))]
        if message.fuzzy or not all(s.strip() for s in translated):
            problems.append(f"{key}: {'fuzzy' if message.fuzzy else 'not translated'}")
            continue
        wanted = set().union(*(placeholders(form) for form in _forms(english)))
        for form in translated:
            if placeholders(form) != wanted:
                problems.append(f"{key}: placeholders {sorted(placeholders(form))}, English "
                                f"has {sorted(wanted)}")
    assert problems == []


@pytest.mark.parametrize("language", SHIPPED)
def test_no_translation_is_left_for_a_text_that_is_gone(language: str) -> None:
    current = {(key, english if isinstance(english, str) else english[0])
               for key, english in sources()}
    stale = [f"{m.context}: {m.id!r}" for m in _catalogue(language)
             if m.id and (m.context, m.id if isinstance(m.id, str) else m.id[0]) not in current]
    assert stale == []


@pytest.mark.parametrize("language", SHIPPED)
def test_plural_forms_follow_the_languages_rule(language: str) -> None:
    catalogue = _catalogue(language)
    assert catalogue.num_plurals >= 1
    for message in catalogue:
        if message.id and isinstance(message.id, tuple):
            assert isinstance(message.string, tuple)
            assert len(message.string) == catalogue.num_plurals, message.context


def test_the_committed_template_is_current() -> None:
    with (i18n.LOCALE_DIR / "messages.pot").open("rb") as pot:
        committed = {(m.context, m.id) for m in read_po(pot) if m.id}
    assert committed == {(m.context, m.id) for m in template() if m.id}


def test_a_catalogue_without_mo_is_compiled_from_po(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh clone has no .mo: the .po is compiled in memory, with the same texts as a
    pybabel-compiled .mo; a .mo older than its .po is not used."""
    language = SHIPPED[0]
    po = i18n.catalogue_path(language)
    locale = tmp_path / language / "LC_MESSAGES"
    locale.mkdir(parents=True)
    (locale / po.name).write_bytes(po.read_bytes())
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.translations.cache_clear()
    try:
        from_po = i18n.translations(language)
        key, english = next((k, e) for k, e in sources() if isinstance(e, str) and "{" in e)
        expected = _catalogue(language).get(english, context=key)
        assert expected is not None
        assert from_po.pgettext(key, english) == expected.string != english
        stale_mo = locale / "messages.mo"
        stale_mo.write_bytes(_mo_with(key, english, "STALE"))
        os.utime(stale_mo, (1, 1))  # older than the .po
        i18n.translations.cache_clear()
        assert i18n.translations(language).pgettext(key, english) == expected.string
        os.utime(stale_mo)  # now newer: it is the build's, and used
        i18n.translations.cache_clear()
        assert i18n.translations(language).pgettext(key, english) == "STALE"
    finally:
        i18n.translations.cache_clear()


def _mo_with(key: str, english: str, text: str) -> bytes:
    from babel.messages.mofile import write_mo

    catalog = Catalog(locale="zh_CN")
    catalog.add(english, text, context=key)
    out = io.BytesIO()
    write_mo(out, catalog)
    assert gettext.GNUTranslations(io.BytesIO(out.getvalue())).pgettext(key, english) == text
    return out.getvalue()
