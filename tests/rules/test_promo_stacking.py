"""No reward stacked on an item whose planned promotion already eats its margin (Coke and sandwich)."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.candidates import Catalog, HabitualCandidate, ItemInfo, MemberCandidates, StretchCandidate
from engine.errors import RulesError
from engine.rules.eligibility import EligibilityIndex, eligible_habitual, eligible_stretch, promo_stacked
from tests.strategies import make_rules, rules_dict

WEEK = 20
RULES = make_rules()
INDEX = EligibilityIndex.from_rules(RULES.eligibility)


def promoted(item_id: int, shelf: float, rate: float, depth: float, share: float, **kw: Any) -> ItemInfo:
    """An item with a shelf price, gross margin rate, promotion depth and challenge-week store share."""
    return ItemInfo(
        item_id=item_id,
        name=f"item{item_id}",
        category=kw.get("category", "SOFT DRINKS"),
        department="GROCERY",
        price=shelf * (1 - depth * share),
        margin_rate=kw.get("margin_rate", 0.3),
        excluded=False,
        shelf_price=shelf,
        unit_cost=shelf * (1 - rate),
        promo_discount_share=depth,
        promo_store_share=share,
    )


def _member(items: list[ItemInfo]) -> MemberCandidates:
    return MemberCandidates(
        member_id=1,
        tier="bronze",
        habitual=tuple(HabitualCandidate(i.item_id, 0.5, 5, WEEK - 1) for i in items),
        stretch=(),
        bought_categories=frozenset(),
    )


@settings(max_examples=200, deadline=None)
@given(
    shelf=st.floats(0.5, 50.0),
    rate=st.floats(0.01, 0.6),
    depth=st.floats(0.0, 0.7),
    share=st.floats(0.0, 1.0),
)
def test_a_stacked_promotion_that_eats_the_margin_is_refused(
    shelf: float, rate: float, depth: float, share: float
) -> None:
    coke = promoted(1, shelf, rate, depth, share)
    plain = [promoted(2, 3.0, 0.3, 0.0, 0.0), promoted(3, 4.0, 0.3, 0.0, 0.0)]
    catalog = Catalog({i.item_id: i for i in [coke, *plain]})
    kept, removed = eligible_habitual(_member([coke, *plain]), catalog, INDEX, WEEK, 6)
    left = coke.promo_margin_left  # the share of the shelf margin the promotion leaves
    assert left == pytest.approx(1 - depth / rate)
    rules = RULES.eligibility.promotions
    kept_ids = [i.item_id for _, i in kept]
    if share >= rules.min_store_share and left < rules.refuse_when_margin_left_below:
        assert kept_ids == [2, 3]
        assert removed.counts == {"promo_stacked": 1}
        (result,) = removed.results("habitual")
        assert result.rule == "promo_stacked"
        assert "no reward stacked" in result.detail
    else:
        assert kept_ids == [1, 2, 3]  # not promoted this week, or the promotion leaves enough margin
        assert removed.counts == {}


def test_the_coke_and_sandwich_case() -> None:
    # 18% margin on a can, promoted everywhere at 25% off: the promotion already costs more than the margin
    coke = promoted(1, 1.0, 0.18, 0.25, 1.0)
    reason = promo_stacked(coke, INDEX)
    assert reason is not None
    assert "promoted in 100% of stores" in reason
    assert "25% discount leaves -39% of its margin" in reason
    # the same can without a planned promotion this week carries a reward
    assert promo_stacked(replace(coke, promo_store_share=0.0), INDEX) is None
    # a shallow promotion that leaves most of the margin does not block it
    assert promo_stacked(replace(coke, promo_discount_share=0.05), INDEX) is None


def test_a_promoted_item_whose_margin_is_unknown_is_refused() -> None:
    unknown = replace(promoted(1, 2.0, 0.3, 0.1, 0.9), unit_cost=math.nan)
    reason = promo_stacked(unknown, INDEX)
    assert reason is not None
    assert "margin is unknown" in reason
    # without a planned promotion the eligibility rules leave unknown margins to the guards
    assert promo_stacked(replace(unknown, promo_store_share=0.0), INDEX) is None


def test_a_stretch_whose_suggested_item_is_stacked_is_refused() -> None:
    snack = promoted(7, 2.0, 0.3, 0.4, 0.8, category="CHIPS")
    member = MemberCandidates(1, "bronze", (), (StretchCandidate("CHIPS", 0.1, 7, 0.06),), frozenset())
    kept, removed = eligible_stretch(member, Catalog({7: snack}), INDEX, WEEK, {}, 4)
    assert kept == []
    assert removed.counts == {"promo_stacked": 1}


def test_thresholds_come_from_the_rules_file() -> None:
    lenient = make_rules(
        eligibility={
            **rules_dict()["eligibility"],
            "promotions": {"min_store_share": 0.9, "refuse_when_margin_left_below": -1.0},
        }
    )
    index = EligibilityIndex.from_rules(lenient.eligibility)
    assert promo_stacked(promoted(1, 1.0, 0.18, 0.25, 1.0), index) is None  # leaves -39% > -100%
    assert promo_stacked(promoted(1, 1.0, 0.18, 0.25, 0.8), index) is None  # 80% < 90% of stores
    assert promo_stacked(promoted(1, 1.0, 0.18, 0.5, 1.0), index) is not None  # leaves -178%


@pytest.mark.parametrize(
    ("section", "match"),
    [
        ({"min_store_share": 0.0}, "min_store_share"),
        ({"refuse_when_margin_left_below": 2.0}, "refuse_when_margin_left_below"),
        ({"typo": 1}, "typo"),
    ],
)
def test_bad_promotion_rules_are_refused(section: dict[str, Any], match: str) -> None:
    with pytest.raises(RulesError, match=match):
        make_rules(eligibility={**rules_dict()["eligibility"], "promotions": section})


def test_the_challenge_skips_a_stacked_pick_and_says_why() -> None:
    from engine.challenge import assemble_challenge

    coke = promoted(1, 2.0, 0.18, 0.3, 1.0, category="SOFT DRINKS")  # likeliest, but promoted away
    milk = promoted(2, 3.0, 0.4, 0.0, 0.0, category="MILK")
    bread = promoted(3, 4.0, 0.4, 0.0, 0.0, category="BREAD")
    salad = promoted(4, 5.0, 0.45, 0.0, 0.0, category="SALAD")
    member = MemberCandidates(
        member_id=1,
        tier="bronze",
        habitual=(
            HabitualCandidate(1, 0.9, 9, WEEK - 1),
            HabitualCandidate(2, 0.5, 5, WEEK - 1),
            HabitualCandidate(3, 0.4, 4, WEEK - 2),
        ),
        stretch=(StretchCandidate("SALAD", 0.1, 4, 0.2),),
        bought_categories=frozenset({"SOFT DRINKS", "MILK", "BREAD"}),
    )
    catalog = Catalog({i.item_id: i for i in (coke, milk, bread, salad)})
    c = assemble_challenge(member, catalog, RULES, WEEK, model_version="m", rules_version="r")
    assert c.status == "issued"
    assert [p.item_id for p in c.habitual] == [2, 3]
    (stacked,) = [r for r in c.explanation.rules if r.rule == "promo_stacked"]
    assert "item 1" in stacked.detail


def test_rules_preview_counts_members_with_stacked_picks() -> None:
    from engine.challenge import assemble_batch
    from engine.rules.preview import compare
    from tests.strategies import artifact_from

    items = [
        promoted(1, 2.0, 0.3, 0.3, 1.0, category="SOFT DRINKS"),
        promoted(2, 3.0, 0.4, 0.0, 0.0, category="MILK"),
        promoted(3, 4.0, 0.4, 0.0, 0.0, category="BREAD"),
        promoted(4, 5.0, 0.45, 0.0, 0.0, category="SALAD"),
    ]
    members = [
        MemberCandidates(
            member_id=m,
            tier="bronze",
            habitual=tuple(HabitualCandidate(i, 0.5, 5, WEEK - 1) for i in habitual),
            stretch=(StretchCandidate("SALAD", 0.1, 4, 0.2),),
            bought_categories=frozenset({"SOFT DRINKS", "MILK", "BREAD"}),
        )
        for m, habitual in ((1, (1, 2, 3)), (2, (2, 3)), (3, (1, 2, 3)))
    ]
    artifact = artifact_from(items, members)
    off = {"min_store_share": 1.0, "refuse_when_margin_left_below": -1.0}
    lenient = make_rules(eligibility={**rules_dict()["eligibility"], "promotions": off})
    preview = compare(assemble_batch(artifact, RULES, WEEK), assemble_batch(artifact, lenient, WEEK))
    assert preview.overall.current.members_with_removals == {"promo_stacked": 2}
    assert preview.overall.candidate.members_with_removals == {}
