"""Every message exists in every language, with the same placeholders; language choice."""

from __future__ import annotations

import re
import string
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from api.portal import i18n, service
from api.portal.consumption import MEDIUM_REGISTERS
from api.portal.i18n import LANGUAGES, Translator, catalog, choose_language, parse_accept_language
from api.portal.rendering import NAV
from billing_core.submetered_electricity import (
    ITEM_COMMON,
    ITEM_UNITS,
    KEY_CONSUMPTION,
    KEY_LIVING_AREA,
)

PORTAL = Path(i18n.__file__).parent
LITERAL_KEY = re.compile(r"""\bt\(\s*['"]([a-z_.]+)['"]""")


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_language_has_every_key_with_the_same_placeholders() -> None:
    reference = catalog("en")
    for lang in LANGUAGES:
        messages = catalog(lang)
        assert set(messages) == set(reference), (
            f"{lang}: missing {sorted(set(reference) - set(messages))}, "
            f"extra {sorted(set(messages) - set(reference))}")
        for key, text in messages.items():
            assert text.strip(), f"{lang}.json: {key} is empty"
            assert _placeholders(text) == _placeholders(reference[key]), f"{lang}.json: {key}"


def test_translations_differ_from_english_where_words_are_shown() -> None:
    # Catches a key copied from English instead of translated (names and codes aside).
    same_everywhere = {"payments.iban", "payments.bic", "bills.tariff_value",
                       "home.unit_line", "consumption.bar_label", "home.next_payment_text",
                       "medium.gas", "nav.profile", "profile.title", "bills.explain_line"}
    en = catalog("en")
    for lang in ("de", "zh", "nb"):
        copied = [k for k, v in catalog(lang).items() if v == en[k] and k not in same_everywhere
                  and not k.startswith("lang.")]
        assert copied == [], f"{lang}: untranslated {copied}"


def test_every_key_the_code_and_templates_use_exists() -> None:
    used: set[str] = set()
    for path in [*PORTAL.glob("*.py"), *(PORTAL / "templates").glob("*.html")]:
        used |= set(LITERAL_KEY.findall(path.read_text(encoding="utf-8")))
    # Keys built from data: navigation, languages, media, bill items and keys, events.
    used |= {f"nav.{key}" for key, _ in NAV} | {f"lang.{code}" for code in LANGUAGES}
    used |= {f"medium.{m}" for m in MEDIUM_REGISTERS}
    used |= {f"bills.item.{i}" for i in (ITEM_UNITS, ITEM_COMMON)}
    used |= {f"bills.key.{k}" for k in (KEY_CONSUMPTION, KEY_LIVING_AREA)}
    used |= {f"profile.notify.{e}" for e in service.NOTIFY_EVENTS}
    prefixes = {k for k in used if k.endswith(".")}  # t('medium.' ~ s.medium) and the like
    used -= prefixes
    assert all(any(k.startswith(p) for k in used) for p in prefixes), prefixes
    assert len(used) > 60
    missing = sorted(used - set(catalog("en")))
    assert missing == []


@pytest.mark.parametrize(("query", "profile", "header", "expected"), [
    ("zh", "de", "en-GB,en;q=0.9", "zh"),          # ?lang= wins
    (None, "nb", "zh-CN,zh;q=0.9", "nb"),          # then the profile
    (None, None, "zh-CN,zh;q=0.9,en;q=0.8", "zh"),  # then the browser
    (None, None, "fr-FR, nb-NO;q=0.7, en;q=0.8", "en"),  # quality, not order
    (None, None, "no", "nb"),                      # Norwegian macro-language → bokmål
    (None, None, "zh-TW, en;q=0.5", "en"),         # traditional script is not offered
    (None, None, "fr, it", "de"),                  # nothing we have → German
    ("xx", None, "de-AT", "de"),                   # an unknown override is ignored
    (None, None, "en;q=0, de;q=0.1", "de"),        # q=0 means "not acceptable"
])
def test_choose_language(query: str | None, profile: str | None, header: str,
                         expected: str) -> None:
    assert choose_language(query, profile, header) == expected


def test_accept_language_order() -> None:
    assert parse_accept_language("da, en-gb;q=0.8, en;q=0.7") == ["da", "en-gb", "en"]


def test_money_and_dates_follow_the_locale() -> None:
    # CLDR formats (Babel): grouping, decimal sign, currency position per language.
    nbsp = "\xa0"
    assert Translator("de").money(123456, "EUR") == f"1.234,56{nbsp}€"
    assert Translator("en").money(123456, "EUR") == "€1,234.56"
    assert Translator("zh").money(123456, "CNY") == "¥1,234.56"
    assert Translator("nb").money(-123456, "NOK").replace(nbsp, " ").endswith("1 234,56 kr")
    assert Translator("de").number(Decimal("1510.864"), 2) == "1.510,86"
    assert Translator("zh").month(date(2026, 3, 1)) == "2026年3月"
    assert Translator("de").month(date(2026, 3, 1)) == "März 2026"
    assert Translator("nb").date(date(2026, 4, 14)) == "14. april 2026"
