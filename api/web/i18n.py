"""The pages' languages: Babel message catalogues compiled when first needed, and the choice of locale.

Only the `.po` catalogues are kept in the repository; each is compiled in memory on first use, so
`make run` needs no separate compile step and a stale `.mo` can never be served.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import DateTimePattern, get_date_format, get_datetime_format, get_time_format, parse_pattern
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

DEFAULT_LANGUAGE = "en"
#: The languages of the pages, by Babel locale name, and the name each is offered under in the switcher.
LANGUAGES = {"en": "English", "zh_CN": "简体中文"}
TRANSLATIONS = Path(__file__).parent / "translations"


@cache
def translations(language: str) -> NullTranslations:
    """The compiled catalogue of `language`; English is the source text, so it needs none."""
    source = TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
    if language == DEFAULT_LANGUAGE or not source.is_file():
        return NullTranslations()
    with source.open("rb") as po:
        catalog = read_po(po, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def supported(language: str | None) -> str | None:
    """The page language `language` (`zh-CN`, `zh_cn`, `zh`, `en-GB` ...) stands for, or None."""
    if not language:
        return None
    try:
        locale = Locale.parse(language.strip().replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return None
    if locale.language == "zh":
        return "zh_CN"  # Simplified Chinese is the only Chinese the pages speak
    return DEFAULT_LANGUAGE if locale.language == "en" else None


def from_accept_language(header: str | None) -> str:
    """The best page language for an Accept-Language header (RFC 9110 quality values), else English."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((header or "").split(",")):
        tag, _, parameters = part.strip().partition(";")
        quality = 1.0
        if parameters.strip().startswith("q="):
            try:
                quality = float(parameters.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, index, tag))
    for negative_quality, _, tag in sorted(ranked):
        language = supported(tag)
        if language is not None and negative_quality < 0:
            return language
    return DEFAULT_LANGUAGE


def html_lang(language: str) -> str:
    """The `lang` attribute of a page in `language` (BCP 47: zh-CN, not zh_CN)."""
    return language.replace("_", "-")


@cache
def _medium_format(language: str) -> tuple[Locale, str, DateTimePattern, DateTimePattern]:
    """The language's medium date-and-time format, parsed once (a history of 500 dates formats 500 times)."""
    locale = Locale.parse(language)
    date = parse_pattern(get_date_format("medium", locale=locale))
    time = parse_pattern(get_time_format("medium", locale=locale))
    return locale, str(get_datetime_format("medium", locale=locale)), date, time


def shown_moment(moment: datetime, *, language: str, time_zone: str) -> str:
    """A moment as the user reads it: in their time zone, in their language's medium format.

    As Babel's `format_datetime(moment, "medium")` writes it, with the patterns parsed once per language.
    """
    locale, glue, date, time = _medium_format(language)
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)  # Babel reads a naive one as UTC
    local = aware.astimezone(ZoneInfo(time_zone))
    return glue.replace("{1}", date.apply(local, locale)).replace("{0}", time.apply(local, locale))
