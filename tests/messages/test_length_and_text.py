"""The SMS unit, cleaning and grapheme-safe shortening."""

from __future__ import annotations

import unicodedata

import pytest

from engine.messages import clean, graphemes, shorten, sms_parts, sms_units
from engine.messages.text import FSI, PDI, isolate

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # one grapheme, 8 UTF-16 code units
FLAG_IR = "\U0001f1ee\U0001f1f7"


def test_units_count_what_a_carrier_counts_at_worst() -> None:
    assert sms_units("abc") == 3
    assert sms_units("€[]") == 6  # GSM-7 extension: escape + character
    assert sms_units("سلام") == 4
    assert sms_units(FAMILY) == 8 == len(FAMILY.encode("utf-16-le")) // 2
    assert sms_units("e\u0301") == 2  # a combining mark is a code unit of its own
    assert sms_units(FSI + PDI) == 2


def test_parts() -> None:
    assert sms_parts("a" * 160) == 1
    assert sms_parts("a" * 161) == 2
    assert sms_parts("س" * 70) == 1
    assert sms_parts("س" * 160) == 3


def test_clean_removes_what_could_reorder_or_break_the_text() -> None:
    assert clean("Sara\u202e evil\u202c") == "Sara evil"
    assert clean("  two\t\nspaces ") == "two spaces"
    assert clean("\u0301\u0301Ali") == "Ali"  # no leading combining mark to attach to the template
    assert clean("می\u200cخرید") == "می\u200cخرید"  # the Persian zero-width non-joiner stays
    assert clean(FAMILY) == FAMILY  # the zero-width joiner of an emoji sequence stays
    assert clean("e\u0301") == "\u00e9"  # NFC
    assert clean("a\ud800b") == "ab"  # a lone surrogate is dropped


def test_clean_title_cases_capitals_only() -> None:
    assert clean("FLUID MILK WHITE ONLY", title_all_caps=True) == "Fluid Milk White Only"
    assert clean("KELLOGG'S FROSTED", title_all_caps=True) == "Kellogg's Frosted"
    assert clean("iPhone case", title_all_caps=True) == "iPhone case"
    assert clean("شیر", title_all_caps=True) == "شیر"


@pytest.mark.parametrize(
    "text",
    [
        "Cre\u0300\u0301\u0302me brule\u0301e" * 3,
        (FAMILY + FLAG_IR + "x") * 6,
        "ن\u064e\u0627\u0646\u200cهای تازه" * 4,
        "\u1100\u1161\u11a8" * 20,  # Hangul jamo: three code points, one grapheme
    ],
)
@pytest.mark.parametrize("limit", [1, 2, 3, 5, 8, 13, 21])
def test_shorten_cuts_between_grapheme_clusters_only(text: str, limit: int) -> None:
    text = unicodedata.normalize("NFC", text)
    cut = shorten(text, limit, "…")
    assert sms_units(cut) <= limit
    if cut and cut != text:
        assert cut.endswith("…")
        kept = graphemes(cut[:-1])
        assert kept == graphemes(text)[: len(kept)]  # whole clusters, none split
        assert text.startswith(cut[:-1])


def test_shorten_keeps_what_fits() -> None:
    assert shorten("Bananas", 7, "…") == "Bananas"
    assert shorten("Bananas", 6, "…") == "Banan…"
    assert shorten("Bananas", 0, "…") == ""


def test_isolate_only_against_the_direction() -> None:
    assert isolate("Milk", "rtl") == f"{FSI}Milk{PDI}"
    assert isolate("شیر", "rtl") == "شیر"
    assert isolate("شیر", "ltr") == f"{FSI}شیر{PDI}"
    assert isolate("Milk 2%", "ltr") == "Milk 2%"
