"""The portal's languages: message catalogues, choosing a language, locale formats.

Catalogues are flat JSON files in ``locales/`` (one per language, same keys);
``tests/portal/test_i18n.py`` fails when a key is missing in any of them, so a
page can never fall back to another language half-way.  Messages use
``str.format`` placeholders (``{amount}``), and the same placeholders must
appear in every translation.

Which language: an explicit ``?lang=`` wins (a link to switch), then the
user's profile setting, then the browser's ``Accept-Language`` (RFC 9110
§ 12.5.4: quality values, ``*`` and region subtags such as ``zh-CN`` or
``nb-NO``), then German (the default of ``tenants.language``).

Numbers, money and dates follow the CLDR data of the chosen locale through
Babel: ``1.234,56 €`` in German, ``€1,234.56`` in English, ``¥1,234.56`` /
``€1,234.56`` in Chinese, ``1 234,56 kr`` style grouping in Norwegian.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel.dates import format_date, format_skeleton
from babel.numbers import format_currency, format_decimal

LANGUAGES = ("de", "en", "zh", "nb")
DEFAULT_LANGUAGE = "de"
# CLDR locales for formatting; Chinese is simplified script (issue 12).
BABEL_LOCALES = {"de": "de_DE", "en": "en_GB", "zh": "zh_Hans_CN", "nb": "nb_NO"}
# Browser tags that mean one of ours: Norwegian "no" and Nynorsk readers get bokmål.
_ALIASES = {"no": "nb", "nn": "nb", "zh-hans": "zh", "zh-cn": "zh", "zh-sg": "zh"}
LOCALES_DIR = Path(__file__).with_name("locales")


class CatalogError(Exception):
    """A catalogue file is missing, not JSON, or not a flat string map."""


@cache
def catalog(language: str) -> dict[str, str]:
    """The messages of one language (read once per process)."""
    if language not in LANGUAGES:
        raise CatalogError(f"language {language!r} is not one of {', '.join(LANGUAGES)}")
    path = LOCALES_DIR / f"{language}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CatalogError(f"{path}: {exc}") from exc
    bad = [k for k, v in data.items() if not isinstance(v, str)]
    if bad:
        raise CatalogError(f"{path}: key {bad[0]!r} is not a string")
    return data


def parse_accept_language(header: str) -> list[str]:
    """Language tags of an Accept-Language header, best first (q=0 dropped)."""
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        fields = part.strip().split(";")
        tag = fields[0].strip().lower()
        if not tag:
            continue
        quality = 1.0
        for param in fields[1:]:
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            weighted.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(weighted)]


def supported(tag: str | None) -> str | None:
    """Our language for a BCP 47 tag (``de-AT`` → ``de``, ``no`` → ``nb``), or None."""
    if not tag:
        return None
    tag = tag.strip().lower().replace("_", "-")
    if tag in _ALIASES:
        return _ALIASES[tag]
    if tag.startswith("zh-hant") or tag in ("zh-tw", "zh-hk", "zh-mo"):
        return None  # traditional script: not offered, fall through to the next choice
    primary = tag.split("-")[0]
    primary = _ALIASES.get(primary, primary)
    return primary if primary in LANGUAGES else None


def choose_language(query: str | None, profile: str | None, accept_language: str | None) -> str:
    """``?lang=`` first, then the profile, then Accept-Language, then German."""
    for choice in (query, profile):
        lang = supported(choice)
        if lang:
            return lang
    for tag in parse_accept_language(accept_language or ""):
        if tag == "*":
            break
        lang = supported(tag)
        if lang:
            return lang
    return DEFAULT_LANGUAGE


@dataclass(frozen=True, slots=True)
class Translator:
    """Messages and formats of one language, handed to every template as ``t``."""

    language: str

    @property
    def locale(self) -> str:
        return BABEL_LOCALES[self.language]

    def __call__(self, key: str, **values: object) -> str:
        # A missing key is a bug caught by the completeness test; KeyError says which.
        return catalog(self.language)[key].format(**values)

    def money(self, amount_cents: int, currency: str) -> str:
        """Integer minor units → locale money (2 decimals: EUR, CNY, NOK all have 2)."""
        return format_currency(Decimal(amount_cents).scaleb(-2), currency, locale=self.locale)

    def number(self, value: Decimal | int, places: int = 1) -> str:
        pattern = "#,##0" + ("." + "0" * places if places else "")
        return format_decimal(value, format=pattern, locale=self.locale)

    def date(self, day: date) -> str:
        return format_date(day, format="long", locale=self.locale)

    def month(self, first_day: date) -> str:
        """``März 2026``, ``March 2026``, ``2026年3月``, ``mars 2026``."""
        return format_skeleton("yMMMM", first_day, locale=self.locale)

    def month_short(self, first_day: date) -> str:
        return format_skeleton("yMMM", first_day, locale=self.locale)
