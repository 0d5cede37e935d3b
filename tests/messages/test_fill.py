"""Every template in every language, filled with the longest names there are, stays within the limit.

Names come from the real Complete Journey catalog (the longest product and category names, by SMS
units and by code points), the serving tests' artifact, and synthetic worst cases: combining marks,
emoji ZWJ sequences, flags, Persian with zero-width non-joiners, GSM-7 extension characters, bidi
controls. Then hypothesis fills in arbitrary text.
"""

from __future__ import annotations

import itertools
from functools import cache

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.candidates import MemberProfile
from engine.data.loaders import complete_journey_dir
from engine.messages import MessagesConfig, clean, compose, graphemes, sms_units
from engine.messages.config import template_fields
from engine.messages.text import FSI, PDI
from tests.messages.conftest import assert_valid_message, make_challenge
from tests.serve.conftest import make_artifact

ISSUED = pd.Timestamp("2026-03-10T12:00:00Z").to_pydatetime()
FLAG_IR = "\U0001f1ee\U0001f1f7"
FLAG_ENGLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"

SYNTHETIC = [
    "Cre\u0300\u0301\u0302\u0303me bru\u0302\u0303le\u0301e " * 8,  # stacked combining marks
    (
        FAMILY
        + "\U0001f1ee\U0001f1f7"
        + "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"
    )
    * 8,
    "نان\u200cهای سبوس\u200cدار تازهٔ محلی با کنجد " * 5,  # Persian with ZWNJ
    "Yoghurt [2€] {light} ~ ^ | \\ " * 6,  # every character a GSM-7 extension
    "\u202eevil override\u202c and \u2067isolate\u2069 " * 6,  # controls a name must not bring in
    "Z\u0351\u0352\u0357\u035b\u0363\u0364\u0365\u0366algo " * 10,  # zalgo
    "\U0001d573\U0001d586\U0001d588\U0001d587 " * 20,  # mathematical letters: 2 units each
    "محمدرضا" * 30,
    "A" * 400,
]


@cache
def complete_journey_longest(n: int = 5) -> list[str]:
    """The ``n`` longest product names (the catalog's product_type, as the loader names products) and
    category names of Complete Journey, by SMS units and by code points."""
    products = pd.read_parquet(
        complete_journey_dir() / "products.parquet", columns=["product_type", "product_category"]
    )
    names: set[str] = set()
    for column in ("product_type", "product_category"):
        values = products[column].dropna().astype(str).unique().tolist()
        for key in (sms_units, len):
            names.update(sorted(values, key=key, reverse=True)[:n])
    return sorted(names, key=sms_units, reverse=True)


def artifact_names() -> list[str]:
    items = make_artifact("v1").items
    return [*items["name"].astype(str).unique(), *items["category"].astype(str).unique()]


def member_names() -> list[str]:
    return ["Sara", "محمدرضا حسین\u200cزاده", "Maximilian-Alexander von Hohenzollern-Sigmaringen", *SYNTHETIC]


def test_complete_journey_has_long_names() -> None:
    longest = complete_journey_longest()
    assert sms_units(longest[0]) >= 30, longest[:3]  # the test is not vacuous


@pytest.mark.parametrize("language", ["en", "fa"])
@pytest.mark.parametrize("with_name", [True, False])
def test_every_template_with_the_longest_names_fits(
    config: MessagesConfig, language: str, with_name: bool
) -> None:
    pool = [*complete_journey_longest(), *artifact_names()[:3], *SYNTHETIC]
    names = member_names() if with_name else [None]
    cut = 0
    longest = sorted(pool, key=sms_units, reverse=True)[:3]
    # every name in every slot, beside the longest names there are in the other two
    triples = [(*longest[:slot], x, *longest[slot + 1 :]) for x in pool for slot in range(3)]
    for (a, b, c), name in itertools.product(triples, names[:4]):
        profile = MemberProfile(name=name, language=language)
        message = compose(make_challenge(a, b, c, stars=999_999), profile, ISSUED, config)
        assert message is not None
        assert message.language == language
        assert_valid_message(message.text, config.max_units)
        cut += "…" in message.text
    assert cut > 0  # the longest names really had to be shortened


@pytest.mark.parametrize("language", ["en", "fa"])
def test_short_names_are_kept_whole_and_the_reward_shows(config: MessagesConfig, language: str) -> None:
    profile = MemberProfile(name="Sara", language=language)
    message = compose(make_challenge("MILK", "BANANAS", "FROZEN PIZZA", stars=40), profile, ISSUED, config)
    assert message is not None
    for name in ("Sara", "Milk", "Bananas", "Frozen Pizza"):
        assert name in message.text
    assert ("۴۰" if language == "fa" else "40") in message.text
    assert "…" not in message.text
    if language == "fa":
        # Latin names inside the Persian text are isolated; the Persian words are not.
        assert f"{FSI}Milk{PDI}" in message.text
        assert "عزیز" in message.text


def test_without_a_name_the_nameless_template_is_used(config: MessagesConfig) -> None:
    for profile in (None, MemberProfile(), MemberProfile(name="\u202e \u200f")):
        message = compose(make_challenge("MILK", "EGGS", "SOUP"), profile, ISSUED, config)
        assert message is not None
        lang = config.languages[config.default_language]
        assert message.text.startswith(lang.without_name.split("{", 1)[0])


def test_a_no_offer_has_no_message(config: MessagesConfig) -> None:
    from engine.challenge import no_offer

    refusal = no_offer(1, "gold", 10, "budget", "spent", [], "", ("v1", "r1"))
    assert compose(refusal, MemberProfile(name="Sara"), ISSUED, config) is None


def test_language_falls_back_to_the_primary_tag_then_the_default(config: MessagesConfig) -> None:
    challenge = make_challenge("MILK", "EGGS", "SOUP")
    languages = {
        tag: compose(challenge, MemberProfile(language=tag), ISSUED, config)
        for tag in ("fa-IR", "FA", "de", None)
    }
    assert {tag: m.language for tag, m in languages.items() if m} == {
        "fa-IR": "fa",
        "FA": "fa",
        "de": config.default_language,
        None: config.default_language,
    }


def _prefix_of_clean(original: str, fallback: str, shown: str) -> bool:
    """``shown`` (a field as it appears, isolates removed) is ``clean(original)`` (or, when that is
    empty, of the pick's fallback name) or a whole-grapheme prefix of it followed by the ellipsis."""
    full = clean(original, title_all_caps=True) or clean(fallback, title_all_caps=True)
    if shown == full:
        return True
    if not shown.endswith("…"):
        return False
    kept = shown[:-1]
    return full.startswith(kept) and graphemes(kept) == graphemes(full)[: len(graphemes(kept))]


names = st.text(min_size=0, max_size=300)


@settings(max_examples=300, deadline=None)
@given(
    item1=names,
    item2=names,
    stretch=names,
    member=st.one_of(st.none(), names),
    language=st.sampled_from(["en", "fa", "xx"]),
    stars=st.integers(0, 999_999),
)
def test_any_names_fit_and_stay_valid_unicode(
    config: MessagesConfig,
    item1: str,
    item2: str,
    stretch: str,
    member: str | None,
    language: str,
    stars: int,
) -> None:
    challenge = make_challenge(item1, item2, stretch, stars=stars)
    message = compose(challenge, MemberProfile(name=member, language=language), ISSUED, config)
    assert message is not None
    assert_valid_message(message.text, config.max_units)


@settings(max_examples=100, deadline=None)
@given(item1=names, item2=names, stretch=names)
def test_a_shortened_name_is_a_grapheme_prefix_of_the_name(
    config: MessagesConfig, item1: str, item2: str, stretch: str
) -> None:
    """Parse the filled English template back into its fields: each is the cleaned name or a cut of it."""
    template = config.languages["en"].without_name
    message = compose(make_challenge(item1, item2, stretch), MemberProfile(language="en"), ISSUED, config)
    assert message is not None
    text = message.text
    parts = [p for p in template.split("{") if p]
    fixed = [p.split("}", 1)[1] for p in parts[1:]]
    head = parts[0]
    assert text.startswith(head)
    rest = text[len(head) :]
    fields = [f for f in template_fields(template) if f != "stars"]
    shown: dict[str, str] = {}
    for field, sep in zip(fields, fixed, strict=False):
        value, _, rest = rest.partition(sep) if sep else (rest, "", "")
        shown[field] = value.removeprefix(FSI).removesuffix(PDI)
    originals = {"item1": item1, "item2": item2, "stretch": stretch}
    for field, value in shown.items():
        if sep_clash(originals[field], fixed):
            continue  # a name holding the template's own separator cannot be parsed back unambiguously
        fallback = {"item1": "C1", "item2": "C2", "stretch": "suggested"}[field]
        assert _prefix_of_clean(originals[field], fallback, value), (field, value, originals[field])


def sep_clash(name: str, separators: list[str]) -> bool:
    return any(s.strip() and s.strip() in name for s in separators)
