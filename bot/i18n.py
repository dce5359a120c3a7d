"""The seller's language: which languages ship, the one this turn speaks, where it comes
from, and the gettext catalogues (Babel) the texts are read from.

A turn speaks one language: the engine sets it from the stored seller (or, before they have
one, from Telegram's ``language_code`` or the script of what they write), and code that
writes to a seller outside a turn (an agent's status change, a reminder) sets it from that
seller with ``speaking_to``. ``bot.texts`` reads it, so its functions keep their signatures.
Agents' texts (Slack) stay English whatever the turn speaks: ``bot.texts`` decides which.

Catalogues: ``bot/locale/<language>/LC_MESSAGES/messages.po``, msgctxt the text's key and
msgid its English text (English is the source language: it needs no catalogue). The ``.mo``
is built by ``make translations``; a checkout without it (or with one older than its ``.po``)
compiles the ``.po`` in memory on first use, so a fresh clone works.
"""

from __future__ import annotations

import gettext
import io
import logging
import re
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_date, format_skeleton, format_time, format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.domain import Seller

log = logging.getLogger(__name__)

ENGLISH = "en"
CHINESE = "zh_CN"
SOURCE_LANGUAGE = ENGLISH
#: Every language a seller can choose, in the order the /language buttons show them.
LANGUAGES: tuple[str, ...] = (ENGLISH, CHINESE)
#: Each language's name written in itself (the /language buttons, the portal's selector).
LANGUAGE_NAMES: dict[str, str] = {ENGLISH: "English", CHINESE: "简体中文"}
#: Each language's name as agents (English) read it on the case card.
LANGUAGE_NAMES_FOR_AGENTS: dict[str, str] = {ENGLISH: "English", CHINESE: "Chinese (Simplified)"}
#: Where a seller who has not said otherwise is assumed to be.
DEFAULT_TIME_ZONES: dict[str, str] = {ENGLISH: "UTC", CHINESE: "Asia/Shanghai"}
LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "messages"

# Han ideographs (unified, extension A, compatibility): punctuation and full-width digits
# alone say nothing about the language.
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"\b[A-Za-z]{2,}\b")
# An invitation or /link code ("ZDRW-GEZM", "LINK-K7QW-93XZ") says nothing of a language, even
# when it happens to draw only letters.
_CODE = re.compile(r"\b(?:LINK-)?[A-Za-z0-9]{4}-[A-Za-z0-9]{4}\b", re.IGNORECASE)


@dataclass(frozen=True)
class Speaker:
    """Whom a text is for: their language and time zone."""

    language: str = ENGLISH
    time_zone: str = DEFAULT_TIME_ZONES[ENGLISH]

    @property
    def zone(self) -> ZoneInfo:
        return _zone(self.time_zone)


_NOBODY_IN_PARTICULAR = Speaker()
_current: ContextVar[Speaker | None] = ContextVar("frontdoor_speaker", default=None)


def current() -> Speaker:
    """Whom the texts rendered now are for (English in UTC outside any turn)."""
    return _current.get() or _NOBODY_IN_PARTICULAR


def current_language() -> str:
    return current().language


def speaker(language: str | None, time_zone: str | None = None) -> Speaker:
    """A speaker of ``language`` (a shipped one, else English) in ``time_zone`` (a valid IANA
    zone, else the language's default)."""
    lang = language if language in LANGUAGES else ENGLISH
    zone = time_zone if time_zone and valid_time_zone(time_zone) else DEFAULT_TIME_ZONES[lang]
    return Speaker(lang, zone)


def speaker_of(seller: Seller | None, fallback: str | None = None) -> Speaker:
    """The seller's stored language and zone; ``fallback`` when they have no language yet."""
    if seller is None:
        return speaker(fallback)
    return speaker(seller.language or fallback, seller.time_zone)


@contextmanager
def speaking(who: Speaker) -> Iterator[Speaker]:
    """Render texts for ``who`` inside the block (and in worker threads started from it)."""
    token = _current.set(who)
    try:
        yield who
    finally:
        _current.reset(token)


def speaking_to(seller: Seller | None) -> AbstractContextManager[Speaker]:
    """``speaking`` the seller's language: for messages to a seller outside their turn."""
    return speaking(speaker_of(seller))


def speaking_to_agents() -> AbstractContextManager[Speaker]:
    """English in UTC: for a seller's text that goes to the agents (a rating reason's label)."""
    return speaking(_NOBODY_IN_PARTICULAR)


# Where a new seller's language comes from --------------------------------------------------
def from_language_code(code: str | None) -> str | None:
    """A shipped language for a platform's language tag ("zh-hans", "zh-CN", "en-GB"), or
    None if it names none. Every Chinese tag maps to Simplified Chinese, the only Chinese
    shipped (closer for a Traditional reader than English)."""
    if not code:
        return None
    primary = code.strip().replace("_", "-").split("-")[0].lower()
    return {"zh": CHINESE, "en": ENGLISH}.get(primary)


def from_script(text: str) -> str | None:
    """The language the text is written in, by script: Han characters is Chinese (mixed with
    ASIN, SKU, order ids as sellers write), two Latin words or more without them English;
    None if it says neither (a number, an order id, "ok", an emoji)."""
    han = len(_HAN.findall(text))
    words = _LATIN_WORD.findall(_CODE.sub(" ", text))
    if han >= 2 or (han and not words):
        return CHINESE
    return ENGLISH if len(words) >= 2 else None


def detect(language_code: str | None, text: str) -> str | None:
    """A new seller's language: Chinese if they write Chinese, else the platform's language
    setting, else the script of what they wrote (None: nothing to tell by)."""
    script = from_script(text)
    if script == CHINESE:
        return CHINESE
    return from_language_code(language_code) or script


# Catalogues ----------------------------------------------------------------------------------
def catalogue_path(language: str, suffix: str = ".po") -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}{suffix}"


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The catalogue of ``language`` (English and unknown languages: the msgids as they are)."""
    if language == SOURCE_LANGUAGE or language not in LANGUAGES:
        return gettext.NullTranslations()
    po, mo = catalogue_path(language), catalogue_path(language, ".mo")
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as compiled:
            return gettext.GNUTranslations(compiled)
    if not po.exists():
        log.error("no catalogue for %s at %s: texts stay English", language, po)
        return gettext.NullTranslations()
    return gettext.GNUTranslations(io.BytesIO(compile_po(po)))


def compile_po(po: Path) -> bytes:
    """The ``.mo`` bytes of a ``.po`` file (fuzzy entries left out, as ``pybabel compile``)."""
    with po.open("rb") as source:
        catalog = read_po(source)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    return compiled.getvalue()


def translate(key: str, english: str, language: str | None = None) -> str:
    """``english`` (the text of ``key``) in ``language`` (default: the current one)."""
    return translations(language or current_language()).pgettext(key, english)


def translate_plural(key: str, one: str, other: str, count: int,
                     language: str | None = None) -> str:
    """The form of a text with a number for ``count`` (``ngettext``), in ``language``."""
    return translations(language or current_language()).npgettext(key, one, other, count)


# Dates, times and durations, in the current speaker's locale and zone --------------------------
def when(moment: datetime, year: bool = False) -> str:
    """A date and time: "Nov 30, 4:45 PM UTC" / "11月30日 16:45"."""
    who = current()
    local = _local(moment, who)
    locale = _locale(who.language)
    day = (format_date(local, "medium", locale=locale) if year
           else format_skeleton("MMMd", local, locale=locale))
    clock = format_time(local, "short", locale=locale)
    return f"{day} {clock}{_utc_mark(who)}"


def day(moment: datetime) -> str:
    """A date: "Nov 30, 2026" / "2026年11月30日"."""
    who = current()
    return format_date(_local(moment, who), "medium", locale=_locale(who.language))


def ago(delta: timedelta) -> str:
    """How long ago: "3 hours ago" / "3小时前"."""
    return format_timedelta(-delta, add_direction=True, locale=_locale(current_language()))


def duration(delta: timedelta) -> str:
    """A length of time: "6 hours" / "6小时"."""
    return format_timedelta(delta, locale=_locale(current_language()))


@cache
def _locale(language: str) -> Locale:
    # Babel parses a locale name into a new Locale on every call (8 us, two thirds of a
    # formatted date); a reminder sweep formats one per case.
    return Locale.parse(language)


def _local(moment: datetime, who: Speaker) -> datetime:
    # The store's times are UTC; a naive one is read as UTC, never as this machine's zone.
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(who.zone)


def _utc_mark(who: Speaker) -> str:
    # A zone other than UTC is the seller's own (chosen or their language's): no mark needed.
    return " UTC" if who.time_zone == "UTC" else ""


def valid_time_zone(name: str) -> bool:
    try:
        _zone(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)
