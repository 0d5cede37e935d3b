"""The win-back, choice and reward-variation rules (pure), and win-back challenges on hand-made data."""

from __future__ import annotations

import pytest

from engine.candidates import HabitualCandidate, MemberCandidates, StretchCandidate, TierDrop
from engine.challenge import assemble_challenge
from engine.data.schema import TIERS
from engine.errors import ArtifactError, RulesError
from engine.rules.choice import ChoiceRules, options_for
from engine.rules.config import load_rules, parse_rules
from engine.rules.variation import RewardVariation, variation_factor, varied_policy
from engine.rules.winback import WinbackRules, restored_tier, winback_offer, winback_policy
from tests.strategies import catalog_of, item, make_rules, rules_dict

WEEK = 10
ITEMS = [
    item(1, "SODA", price=2.0, margin_rate=0.3),
    item(2, "SNACKS", price=3.0, margin_rate=0.3),
    item(4, "SALAD", price=5.0, margin_rate=0.4),
    item(5, "LUNCH", price=6.0, margin_rate=0.4),
    item(8, "BAKERY", price=4.0, margin_rate=0.4),
]
CATALOG = catalog_of(ITEMS)


def _member(tier: str = "silver", drop: TierDrop | None = None, member_id: int = 1) -> MemberCandidates:
    return MemberCandidates(
        member_id,
        tier,
        (HabitualCandidate(1, 0.5, 5, 8), HabitualCandidate(2, 0.4, 5, 8)),
        (StretchCandidate("SALAD", 0.1, 4, 0.0), StretchCandidate("LUNCH", 0.08, 5, 0.0)),
        frozenset({"SODA", "SNACKS"}),
        drop=drop,
    )


def test_winback_offer_only_for_a_recent_drop_when_enabled() -> None:
    on = WinbackRules(enabled=True, max_weeks_since_drop=4, restore_weeks=6)
    offer = winback_offer(on, "silver", "gold", 8, WEEK)
    assert offer is not None
    assert offer.restores
    assert "complete this to get back to gold for 6 weeks" in offer.text
    assert winback_offer(on, "silver", "gold", 5, WEEK) is None  # 5 weeks ago > 4
    assert winback_offer(on, "silver", None, None, WEEK) is None
    assert winback_offer(WinbackRules(), "silver", "gold", 8, WEEK) is None  # disabled by default
    keep = winback_offer(on.model_copy(update={"restore_tier": False}), "silver", "gold", 8, WEEK)
    assert keep is not None
    assert not keep.restores
    assert "get back to" not in keep.text


def test_winback_reward_override_keeps_the_floor_below_the_reward() -> None:
    rules = make_rules()
    gold = rules.tier("gold")
    policy = winback_policy(gold, WinbackRules(enabled=True, stars=20, cash_per_star=0.03))
    assert (policy.stars, policy.cash_per_star) == (20, 0.03)
    assert policy.min_stars is None or policy.min_stars <= 20
    assert winback_policy(gold, WinbackRules(enabled=True)) == gold


def test_a_restoration_holds_until_its_week_and_only_raises_a_tier() -> None:
    assert restored_tier("silver", ("gold", 20), 19, TIERS) == "gold"
    assert restored_tier("silver", ("gold", 20), 20, TIERS) is None
    assert restored_tier("diamond", ("gold", 20), 12, TIERS) is None
    assert restored_tier("silver", None, 12, TIERS) is None


def test_a_dropped_member_gets_a_winback_challenge_that_says_how_to_get_back() -> None:
    rules = make_rules(winback={"enabled": True, "max_weeks_since_drop": 8})
    member = _member("silver", TierDrop("gold", 8))
    c = assemble_challenge(member, CATALOG, rules, WEEK, model_version="m", rules_version="r")
    assert c.status == "issued", c.reason
    assert c.winback is not None
    assert (c.winback.previous_tier, c.winback.dropped_week, c.winback.restores_tier) == ("gold", 8, True)
    assert "complete this to get back to gold" in c.explanation.picks[0]
    assert any(r.rule == "winback" and "dropped from gold to silver" in r.detail for r in c.explanation.rules)
    plain = assemble_challenge(_member("silver"), CATALOG, rules, WEEK, model_version="m", rules_version="r")
    assert plain.winback is None
    old = assemble_challenge(
        _member("silver", TierDrop("gold", 1)), CATALOG, rules, WEEK, model_version="m", rules_version="r"
    )
    assert old.winback is None  # dropped 9 weeks ago: beyond max_weeks_since_drop


def test_a_winback_reward_override_still_passes_the_hard_guard() -> None:
    # picks' margin 0.6 + 0.9 + 2.0 = 3.5; max_reward_share 0.5 -> at most 1.75 of reward
    rules = make_rules(winback={"enabled": True, "stars": 500, "cash_per_star": 0.02})
    member = _member("silver", TierDrop("gold", 9))
    c = assemble_challenge(member, CATALOG, rules, WEEK, model_version="m", rules_version="r")
    assert c.status == "no_offer"  # 10.00 of reward would eat the margin: refused, never issued
    assert c.reason_code == "hard_guard"


def test_a_previous_tier_must_rank_above_the_tier() -> None:
    with pytest.raises(ArtifactError, match="previous tier 'bronze'"):
        _member("silver", TierDrop("bronze", 8))
    with pytest.raises(ArtifactError, match="previous tier 'platinum'"):
        _member("silver", TierDrop("platinum", 8))
    record = _member("silver", TierDrop("gold", 8)).to_json()
    assert MemberCandidates.from_json(record).drop == TierDrop("gold", 8)
    assert b'"d"' not in _member("silver").to_json()  # records without a drop are unchanged


def test_variation_is_reproducible_bounded_and_varies_across_weeks() -> None:
    variation = RewardVariation(enabled=True, min_factor=0.5, max_factor=1.5)
    factors = [variation_factor(7, w, variation) for w in range(1, 41)]
    assert factors == [variation_factor(7, w, variation) for w in range(1, 41)]
    assert all(0.5 <= f <= 1.5 for f in factors)
    assert len({round(f, 6) for f in factors}) > 30
    policy = make_rules().tier("bronze")
    stars = {varied_policy(policy, 7, w, variation).stars for w in range(1, 41)}
    assert len(stars) > 5
    assert min(stars) >= round(policy.stars * 0.5)
    assert max(stars) <= round(policy.stars * 1.5)
    assert varied_policy(policy, 7, 3, RewardVariation()) == policy  # off by default


def test_varied_rewards_never_break_the_hard_guard() -> None:
    rules = make_rules(
        reward_variation={"enabled": True, "min_factor": 1.0, "max_factor": 3.0},
        hard_guard={"max_reward_share": 0.5},
    )
    seen = set()
    for week in range(1, 30):
        c = assemble_challenge(_member("bronze"), CATALOG, rules, week, model_version="m", rules_version="r")
        if c.status == "issued":
            assert c.reward is not None
            margin = sum(p.margin for p in c.habitual) + (c.stretch.margin if c.stretch else 0.0)
            assert c.reward.cash_cost <= 0.5 * margin + 1e-9
            assert c.expected_profit >= 0.0
            seen.add(c.reward.stars)
    assert len(seen) > 1


def test_choice_rules_are_per_tier_and_checked() -> None:
    rules = ChoiceRules(tiers=("gold", "diamond"), options=2)
    assert options_for(rules, "gold") == 2
    assert options_for(rules, "bronze") == 1
    with pytest.raises(RulesError, match="unknown tier"):
        parse_rules(rules_dict(choice={"tiers": ["platinum"]}), "<t>")
    with pytest.raises(RulesError, match="options"):
        parse_rules(rules_dict(choice={"options": 4}), "<t>")
    with pytest.raises(RulesError, match=r"reward_variation\.max_factor"):
        parse_rules(rules_dict(reward_variation={"min_factor": 0.9, "max_factor": 0.95}), "<t>")
    with pytest.raises(RulesError, match="restore_weeks"):
        parse_rules(rules_dict(winback={"restore_weeks": 0}), "<t>")


def test_the_shipped_rules_have_the_new_sections() -> None:
    rules = load_rules()
    assert rules.winback.enabled
    assert rules.winback.restore_tier
    assert set(rules.choice.tiers) <= set(TIERS)
