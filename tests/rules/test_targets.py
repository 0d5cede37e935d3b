"""Rules by tier, stage and segment: each override, first-match resolution, validation naming the target."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from engine.candidates import HabitualCandidate, MemberCandidates, StretchCandidate
from engine.challenge import Challenge, MemberHistory, assemble_challenge
from engine.errors import RulesError
from engine.rules.config import RulesConfig
from tests.strategies import catalog_of, item, make_rules

ITEMS = [
    item(1, "SODA", price=2.0, margin_rate=0.3),
    item(2, "SNACKS", price=3.0, margin_rate=0.3),
    item(3, "CHIPS", price=4.0, margin_rate=0.35, department="SNACKS DEPT"),
    item(4, "SALAD", price=5.0, margin_rate=0.4),
]
CATALOG = catalog_of(ITEMS)
MEMBER = MemberCandidates(
    1,
    "silver",
    (HabitualCandidate(1, 0.5, 5, 8), HabitualCandidate(2, 0.4, 5, 8), HabitualCandidate(3, 0.3, 5, 8)),
    (StretchCandidate("SALAD", 0.1, 4, 0.0),),
    frozenset({"SODA", "SNACKS", "CHIPS"}),
    stage="loyal",
    segments=("reached", "fresh_lovers"),
)


def _rules(*targets: dict[str, Any]) -> RulesConfig:
    return make_rules(targets=list(targets))


def _run(rules: RulesConfig, member: MemberCandidates = MEMBER, last_offer: int | None = None) -> Challenge:
    return assemble_challenge(
        member,
        CATALOG,
        rules,
        10,
        history=MemberHistory(last_offer_week=last_offer),
        model_version="m",
        rules_version="r",
    )


def _target_rule(c: Challenge) -> str:
    return next(r.detail for r in c.explanation.rules if r.rule == "target")


def test_no_targets_keeps_the_tier_policy_and_explanation() -> None:
    c = _run(make_rules())
    assert c.reward is not None
    assert c.reward.stars == 30
    assert all(r.rule != "target" for r in c.explanation.rules)


def test_stage_target_changes_the_reward_and_says_so() -> None:
    c = _run(_rules({"name": "loyal_more", "match": {"stage": "loyal"}, "stars": 20, "cash_per_star": 0.01}))
    assert c.status == "issued", c.reason
    assert c.reward is not None
    assert (c.reward.stars, c.reward.cash_cost) == (20, pytest.approx(0.2))
    assert "target 'loyal_more' applies" in _target_rule(c)


def test_segment_target_disables_the_group() -> None:
    c = _run(_rules({"name": "no_fresh", "match": {"segment": ["fresh_lovers"]}, "enabled": False}))
    assert c.status == "no_offer"
    assert c.reason_code == "target_disabled"
    assert "no_fresh" in c.reason


def test_frequency_cap_override() -> None:
    rules = _rules({"name": "rare", "match": {"tier": "silver"}, "min_weeks_between_offers": 3})
    assert _run(rules, last_offer=8).reason_code == "tier_frequency"
    assert _run(rules, last_offer=7).status == "issued"
    assert _run(make_rules(), last_offer=8).status == "issued"


def test_extra_exclusions_remove_the_departments_picks() -> None:
    rules = _rules(
        {"name": "no_snacks", "match": {"stage": "loyal"}, "excluded_departments": ["SNACKS DEPT"]}
    )
    likes_chips = replace(MEMBER, habitual=(HabitualCandidate(3, 0.9, 5, 8), *MEMBER.habitual[:2]))
    before = _run(make_rules(), likes_chips)
    after = _run(rules, likes_chips)
    assert 3 in [p.item_id for p in before.habitual]
    assert after.status == "issued"
    assert 3 not in [p.item_id for p in after.habitual]


def test_first_matching_target_in_file_order_wins() -> None:
    first = {"name": "a", "match": {"segment": "fresh_lovers"}, "stars": 10}
    second = {"name": "b", "match": {"tier": "silver", "stage": "loyal"}, "stars": 12}
    assert _run(_rules(first, second)).reward.stars == 10  # type: ignore[union-attr]
    assert _run(_rules(second, first)).reward.stars == 12  # type: ignore[union-attr]
    # every key of a match must hold: a gold-only target does not apply to this silver member
    c = _run(_rules({"name": "gold_only", "match": {"tier": "gold", "stage": "loyal"}, "stars": 5}))
    assert c.reward.stars == 30  # type: ignore[union-attr]
    assert "no target matches" in _target_rule(c)


def test_member_without_stage_matches_no_stage_target() -> None:
    c = _run(
        _rules({"name": "x", "match": {"stage": "loyal"}, "enabled": False}), replace(MEMBER, stage=None)
    )
    assert c.status == "issued"


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ({"name": "t1", "match": {"stage": "fan"}}, r"targets\.0\.match.*match\.stage: \['fan'\] not among"),
        ({"name": "t2", "match": {}}, "match needs at least one of tier, stage, segment"),
        ({"name": "t3", "match": {"tier": "gold"}, "stars": 0}, r"targets\.0\.stars"),
        (
            {"name": "t4", "match": {"tier": "gold"}, "stars": 20},
            "target 't4' on tier 'gold': .*min_stars 30 is above",
        ),
        ({"name": "t5", "match": {"colour": "red"}}, "target 't5': match.colour: unknown key"),
        ({"name": "t6", "match": {"segment": "Not A Name"}}, "match.segment"),
    ],
)
def test_validation_errors_name_the_target_and_field(target: dict[str, Any], message: str) -> None:
    if target["name"] == "t4":
        tiers = make_rules().model_dump()["tiers"]
        tiers["gold"]["min_stars"] = 30
        with pytest.raises(RulesError, match=message):
            make_rules(tiers=tiers, targets=[target])
        return
    with pytest.raises(RulesError, match=message):
        _rules(target)


def test_duplicate_target_names_refused() -> None:
    t = {"name": "same", "match": {"tier": "gold"}}
    with pytest.raises(RulesError, match=r"name\(s\) \['same'\] appear more than once"):
        _rules(t, t)
