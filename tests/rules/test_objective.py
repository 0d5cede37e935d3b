"""The challenge objective: reachable habitual picks, rich rewards for top tiers, trials on priors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.candidates import HabitualCandidate, MemberCandidates, StretchCandidate
from engine.challenge import Challenge, assemble_batch, assemble_challenge
from engine.errors import RulesError
from engine.rules.config import RulesConfig, TierPolicy
from engine.rules.lift import LiftFile
from engine.rules.search import PickArrays, search_combinations
from tests.strategies import artifact_from, catalog_of, item, lifts_dict, make_rules, rules_dict

WEEK = 10
ITEMS = [item(k, f"CAT{k}", price=4.0, margin_rate=0.3) for k in range(1, 6)] + [
    item(10, "SALAD", price=5.0, margin_rate=0.4),
    item(11, "LUNCH", price=6.0, margin_rate=0.4),
    item(20, "THIN", price=1.0, margin_rate=0.1),
    item(21, "THIN2", price=1.0, margin_rate=0.1),
]
CATALOG = catalog_of(ITEMS)


def _member(
    habitual: list[tuple[int, float]], stretch: list[tuple[str, int, float]], tier: str = "bronze"
) -> MemberCandidates:
    return MemberCandidates(
        1,
        tier,
        tuple(HabitualCandidate(i, p, 5, 8) for i, p in habitual),
        tuple(StretchCandidate(c, p, i, 0.0) for c, i, p in stretch),
        frozenset(f"CAT{k}" for k in range(1, 6)) | {"THIN", "THIN2"},
    )


def _assemble(member: MemberCandidates, rules: RulesConfig) -> Challenge:
    return assemble_challenge(member, CATALOG, rules, WEEK, model_version="m", rules_version="r")


def test_the_most_likely_habitual_picks_win_over_less_likely_ones_of_equal_margin() -> None:
    # Equal margins: a profit objective with a constant lift would pick the least likely pair (its reward is
    # paid least often). The challenge must stay within reach: the member's surest products win.
    member = _member([(1, 0.9), (2, 0.85), (3, 0.3), (4, 0.25)], [("SALAD", 10, 0.1)])
    c = _assemble(member, make_rules())
    assert c.status == "issued", c.reason
    assert {p.item_id for p in c.habitual} == {1, 2}


@st.composite
def _arrays(draw: st.DrawFn) -> tuple[PickArrays, PickArrays]:
    lifts = LiftFile.model_validate(lifts_dict(0.3, 0.6))
    nh, ns = draw(st.integers(2, 6)), draw(st.integers(1, 4))
    probs = st.floats(0.0, 1.0)
    margins = st.floats(0.05, 5.0)

    def build(n: int, kind: str) -> PickArrays:
        m = draw(st.lists(margins, min_size=n, max_size=n))
        v = [x + draw(st.floats(0.0, 3.0)) for x in m]
        p = draw(st.lists(probs, min_size=n, max_size=n))
        est = lifts.estimate(kind, "*")  # type: ignore[arg-type]
        return PickArrays.build(m, v, p, [est] * n, [f"{kind}{k}" for k in range(n)], 0.5)

    return build(nh, "habitual"), build(ns, "stretch")


@given(arrays=_arrays(), which=st.integers(0, 5), bump=st.floats(0.0, 1.0))
def test_a_more_likely_habitual_pick_of_equal_margin_never_lowers_the_score(
    arrays: tuple[PickArrays, PickArrays], which: int, bump: float
) -> None:
    habitual, stretch = arrays
    which %= len(habitual.margin)
    p = habitual.p_base.copy()
    p[which] = p[which] + bump * (1.0 - p[which])
    lifts = LiftFile.model_validate(lifts_dict(0.3, 0.6))
    likelier = PickArrays.build(
        habitual.margin.tolist(),
        habitual.value.tolist(),
        p.tolist(),
        [lifts.estimate("habitual", "*")] * len(p),
        habitual.category.tolist(),
        0.5,
    )
    rules = make_rules()
    tier = rules.tiers["bronze"]
    before = search_combinations(habitual, stretch, tier, rules.hard_guard, rules.economic_guard, 0.5)
    after = search_combinations(likelier, stretch, tier, rules.hard_guard, rules.economic_guard, 0.5)
    assert (after.score >= before.score - 1e-12).all()
    # same margins and prices: the reward each combination carries does not move either
    assert np.array_equal(after.table.stars, before.table.stars)


def _gold_rules(**tier: object) -> RulesConfig:
    data = rules_dict()
    data["tiers"]["gold"] = {"stars": 50, "cash_per_star": 0.02, "min_stars": 20, **tier}
    return make_rules(tiers=data["tiers"])


def test_gold_gets_picks_that_carry_the_full_reward_when_some_do() -> None:
    # the two likeliest products are thin (margin 0.10 each); with SALAD (2.00) they carry 1.10 of
    # margin -> 0.55 at 50%: not the full 1.00. One of items 1 and 2 (1.20 each) with a thin one carries
    # it (3.30 -> 1.65), and is likelier to be completed than the pair of fat ones.
    member = _member([(20, 0.9), (21, 0.9), (1, 0.5), (2, 0.5)], [("SALAD", 10, 0.1)], tier="gold")
    c = _assemble(member, _gold_rules())
    assert c.status == "issued", c.reason
    assert c.reward is not None
    assert c.reward.stars == 50
    ids = {p.item_id for p in c.habitual}
    assert len(ids & {1, 2}) == 1
    assert len(ids & {20, 21}) == 1


def test_a_tier_that_prefers_reach_keeps_the_likeliest_picks_with_a_smaller_reward() -> None:
    # at most 30% of the picks' margin pays the reward: the likeliest pair (thin, 0.10 each) with SALAD
    # carries 0.66 -> 33 stars; the fat pair (1.20 each) carries the full 50. The economic guard is
    # opened so that only the order decides.
    member = _member([(20, 0.9), (21, 0.9), (1, 0.5), (2, 0.5)], [("SALAD", 10, 0.3)], tier="gold")
    data = rules_dict()
    data["tiers"] = _gold_rules().model_dump()["tiers"]
    data["hard_guard"]["max_reward_share"] = 0.3
    data["economic_guard"]["min_expected_profit"] = -10.0
    rich = _assemble(member, make_rules(**data))  # "reward", the default: the full 50
    data["tiers"]["gold"]["prefer"] = "reach"
    near = _assemble(member, make_rules(**data))
    assert rich.status == near.status == "issued", (rich.reason, near.reason)
    assert rich.reward is not None
    assert near.reward is not None
    assert ({p.item_id for p in rich.habitual}, rich.reward.stars) == ({1, 2}, 50)
    assert ({p.item_id for p in near.habitual}, near.reward.stars) == ({20, 21}, 33)
    assert near.p_complete > rich.p_complete
    with pytest.raises(RulesError, match="prefer"):
        make_rules(tiers={**data["tiers"], "gold": {**data["tiers"]["gold"], "prefer": "cheapest"}})


def test_gold_gets_the_largest_reward_that_fits_above_the_floor_and_is_told_so() -> None:
    # only thin picks: margin 0.1 + 0.1 + 2.0 = 2.2, and at most 30% of it may pay the reward
    thin = _member([(20, 0.9), (21, 0.9)], [("SALAD", 10, 0.1)], tier="gold")
    rules = make_rules(hard_guard={"max_reward_share": 0.3}, tiers=_gold_rules().model_dump()["tiers"])
    c = _assemble(thin, rules)
    # cap 0.3 x 2.2 = 0.66 -> 33 stars, above the floor of 20
    assert c.status == "issued", c.reason
    assert c.reward is not None
    assert c.reward.stars == 33
    assert c.reward.cash_cost == pytest.approx(0.66)
    reward = next(r for r in c.explanation.rules if r.rule == "tier_reward")
    assert "cut from the tier's 50 stars" in reward.detail
    # below the floor: refused by the hard guard
    tiers = _gold_rules(min_stars=40).model_dump()["tiers"]
    refused = _assemble(thin, make_rules(hard_guard={"max_reward_share": 0.3}, tiers=tiers))
    assert (refused.status, refused.reason_code) == ("no_offer", "hard_guard")


def test_a_challenge_out_of_reach_is_refused() -> None:
    member = _member([(1, 0.2), (2, 0.2)], [("SALAD", 10, 0.05)])
    data = rules_dict()
    data["tiers"]["bronze"]["min_p_complete"] = 0.01
    c = _assemble(member, make_rules(tiers=data["tiers"]))
    assert (c.status, c.reason_code) == ("no_offer", "reachability")
    assert "were out of reach" in " ".join(r.detail for r in c.explanation.rules)


def test_challenges_resting_on_a_prior_are_a_bounded_trial() -> None:
    prior = {"min_expected_profit": 0.0, "lifts": lifts_dict(0.2, 0.5, status="prior")}
    member = _member([(1, 0.6), (2, 0.5)], [("SALAD", 10, 0.1)])
    c = _assemble(member, make_rules(economic_guard=prior))
    assert c.status == "issued"
    assert c.trial
    assert any("trial" in p for p in c.explanation.picks)
    artifact = artifact_from(ITEMS, [member])
    capped = assemble_batch(
        artifact, make_rules(economic_guard=prior, budget={"weekly_trial_cost": 0.0}), WEEK
    )
    assert (capped[0].status, capped[0].reason_code) == ("no_offer", "trial_budget")
    measured = assemble_batch(artifact, make_rules(budget={"weekly_trial_cost": 0.0}), WEEK)
    assert measured[0].status == "issued"
    assert not measured[0].trial


def test_tier_floor_cannot_exceed_the_reward() -> None:
    with pytest.raises(ValueError, match="min_stars 60 is above stars 50"):
        TierPolicy(stars=50, cash_per_star=0.02, min_stars=60)


def test_a_stretch_category_worth_a_habit_wins_over_an_equally_likely_one() -> None:
    # SALAD and LUNCH are equally likely; LUNCH adopters come back for 3.00 of margin, SALAD's do not
    items = [
        *ITEMS[:-4],
        item(10, "SALAD", price=5.0, margin_rate=0.4),
        item(11, "LUNCH", price=5.0, margin_rate=0.4, repeat_margin=3.0),
    ]
    member = _member([(1, 0.6), (2, 0.5)], [("SALAD", 10, 0.1), ("LUNCH", 11, 0.1)])
    c = assemble_challenge(
        member, catalog_of(items), make_rules(), WEEK, model_version="m", rules_version="r"
    )
    assert c.stretch is not None
    assert c.stretch.category == "LUNCH"
    assert c.stretch.habit_value == pytest.approx(3.0)
    # the economic guard counts the habit: value = margin 2.00 + 3.00 on the incremental adoption
    assert "5.00x" in c.explanation.arithmetic
    ignored = make_rules(
        economic_guard={"min_expected_profit": 0.0, "lifts": lifts_dict(0.2, 0.5), "count_habit_value": False}
    )
    assert (
        assemble_challenge(
            member, catalog_of(items), ignored, WEEK, model_version="m", rules_version="r"
        ).stretch.habit_value
        == 0.0
    )


def test_the_stretch_value_can_rank_by_what_adopters_spend_and_the_guards_do_not_move() -> None:
    # two equally likely stretch categories of equal margin: SALAD's adopters spend 2.0 on it, LUNCH's
    # 12.0. Ranked by margin value the model's favourite (SALAD, listed first) wins; ranked by adopter
    # spend, LUNCH does. The guards count margins either way, so the same combinations pass.
    items = [
        *ITEMS[:5],
        item(10, "SALAD", 5.0, 0.4, adopter_spend=2.0),
        item(11, "LUNCH", 5.0, 0.4, adopter_spend=12.0),
    ]
    catalog = catalog_of(items)
    member = _member([(1, 0.9), (2, 0.85)], [("SALAD", 10, 0.1), ("LUNCH", 11, 0.1)])
    by_margin = make_rules(search={"stretch_value_exponent": 0.5})
    by_spend = make_rules(search={"stretch_value_exponent": 0.5, "stretch_value": "adopter_spend"})
    picked = {}
    for name, rules in (("margin", by_margin), ("spend", by_spend)):
        c = assemble_challenge(member, catalog, rules, WEEK, model_version="m", rules_version="r")
        assert c.status == "issued", c.reason
        assert c.stretch is not None
        picked[name] = (c.stretch.category, c.expected_profit)
    assert picked["margin"][0] == "SALAD"
    assert picked["spend"][0] == "LUNCH"
    # equal margins and likelihoods: the guard arithmetic (expected profit) is the same
    assert picked["spend"][1] == pytest.approx(picked["margin"][1])


def test_an_unknown_adopter_spend_ranks_last_but_is_still_offered() -> None:
    items = [*ITEMS[:5], item(10, "SALAD", 5.0, 0.4)]  # an older artifact: adopter spend unknown
    member = _member([(1, 0.9), (2, 0.85)], [("SALAD", 10, 0.1)])
    rules = make_rules(search={"stretch_value_exponent": 0.5, "stretch_value": "adopter_spend"})
    c = assemble_challenge(member, catalog_of(items), rules, WEEK, model_version="m", rules_version="r")
    assert c.status == "issued", c.reason
