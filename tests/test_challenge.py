"""Challenge assembly on small hand-built cases: what is issued, and why an offer is withheld."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from engine.candidates import HabitualCandidate, MemberCandidates, StretchCandidate
from engine.challenge import (
    FRAME_COLUMNS,
    Challenge,
    MemberHistory,
    assemble_batch,
    assemble_challenge,
    challenges_frame,
)
from engine.rules.config import RulesConfig, load_rules
from tests.strategies import artifact_from, catalog_of, item, lifts_dict, make_rules

WEEK = 10


def _shift(p: float, beta: float) -> float:
    odds = p / (1 - p) * math.exp(beta)
    return odds / (1 + odds)


def _member(
    habitual: list[tuple[int, float]],
    stretch: list[tuple[str, int, float]],
    bought: set[str] | None = None,
    tier: str = "bronze",
    member_id: int = 1,
) -> MemberCandidates:
    return MemberCandidates(
        member_id,
        tier,
        tuple(HabitualCandidate(i, p, 5, 8) for i, p in habitual),
        tuple(StretchCandidate(c, p, i, 0.0) for c, i, p in stretch),
        frozenset(bought if bought is not None else {"SODA", "SNACKS"}),
    )


ITEMS = [
    item(1, "SODA", price=2.0, margin_rate=0.3),
    item(2, "SNACKS", price=3.0, margin_rate=0.3),
    item(3, "SNACKS", price=4.0, margin_rate=0.35),
    item(4, "SALAD", price=5.0, margin_rate=0.4),
    item(5, "LUNCH", price=6.0, margin_rate=0.4),
    item(6, "FUEL", price=40.0, margin_rate=0.1, department="FUEL"),
    item(7, "GARDEN", price=30.0, margin_rate=0.4, department="GARDEN CENTER"),
]
CATALOG = catalog_of(ITEMS)


def _assemble(
    member: MemberCandidates, rules: RulesConfig, history: MemberHistory | None = None
) -> Challenge:
    return assemble_challenge(
        member, CATALOG, rules, WEEK, history=history, model_version="m1", rules_version="r1"
    )


def test_issued_challenge_has_two_habitual_one_stretch_and_adds_up() -> None:
    c = _assemble(_member([(1, 0.5), (2, 0.4)], [("SALAD", 4, 0.1)]), make_rules())
    assert c.status == "issued", c.reason
    assert [p.item_id for p in c.habitual] == [1, 2]
    assert c.stretch is not None
    assert (c.stretch.category, c.stretch.item_id) == ("SALAD", 4)
    assert c.reward is not None
    assert c.reward.cash_cost == pytest.approx(0.5)
    # make_rules: log odds ratios 0.2 (habitual) and 0.5 (stretch), no uncertainty
    p_offer = [_shift(0.5, 0.2), _shift(0.4, 0.2), _shift(0.1, 0.5)]
    assert [c.habitual[0].p_offer, c.habitual[1].p_offer, c.stretch.p_offer] == pytest.approx(p_offer)
    assert c.p_complete == pytest.approx(math.prod(p_offer))
    incremental = 0.6 * (p_offer[0] - 0.5) + 0.9 * (p_offer[1] - 0.4) + 2.0 * (p_offer[2] - 0.1)
    assert c.expected_profit == pytest.approx(incremental - 0.5 * math.prod(p_offer))
    assert c.expected_cost == pytest.approx(0.5 * math.prod(p_offer))
    rules = {r.rule: r.passed for r in c.explanation.rules}
    assert rules["hard_guard"]
    assert rules["economic_guard"]
    assert len(c.explanation.picks) == 3
    assert "expected profit" in c.explanation.arithmetic
    assert (c.model_version, c.rules_version) == ("m1", "r1")


def test_coke_and_sandwich_is_refused_by_the_hard_guard() -> None:
    # 10% off a 6.00 sandwich (0.60) for buying a Coke whose whole margin is 0.15 (DOMAIN.md)
    coke = item(100, "SOFT DRINKS", price=1.0, margin_rate=0.15, name="Coca-Cola can")
    gum = item(101, "CANDY", price=0.5, margin_rate=0.1, name="gum")
    sandwich = item(102, "SANDWICHES", price=6.0, margin_rate=0.05, name="club sandwich")
    catalog = catalog_of([coke, gum, sandwich])
    tier = {"stars": 30, "cash_per_star": 0.02}  # 0.60 cash: the 10% off the sandwich
    rules = make_rules(
        tiers=dict.fromkeys(("bronze", "silver", "gold", "diamond"), tier),
        hard_guard={"max_reward_share": 1.0},
    )
    member = MemberCandidates(
        7,
        "bronze",
        (HabitualCandidate(100, 0.9, 30, 9), HabitualCandidate(101, 0.5, 10, 9)),
        (StretchCandidate("SANDWICHES", 0.2, 102, 0.06),),
        frozenset({"SOFT DRINKS", "CANDY"}),
    )
    c = assemble_challenge(member, catalog, rules, WEEK, model_version="m", rules_version="r")
    assert c.status == "no_offer"
    assert c.reason_code == "hard_guard"
    # the picks' margin is 0.15 + 0.05 + 0.30 = 0.50: the 0.60 reward would eat more than all of it
    assert "reward 0.60 exceeds 100% of the gross margin" in c.reason
    assert "(0.50" in c.reason
    assert "more than the whole margin" in c.reason
    assert c.reward is None
    assert c.expected_cost == 0.0


def test_search_finds_a_passing_combination_when_the_favourite_fails() -> None:
    cheap = item(20, "SODA", price=0.5, margin_rate=0.1)
    catalog = catalog_of([*ITEMS, cheap])
    member = _member([(20, 0.9), (1, 0.5), (3, 0.4)], [("SALAD", 4, 0.1)])
    rules = make_rules(hard_guard={"max_reward_share": 0.15})
    c = assemble_challenge(member, catalog, rules, WEEK, model_version="m", rules_version="r")
    # favourite pair (20, 1) has margin 0.05 + 0.6 + 2.0 = 2.65 -> cap 0.40 < 0.50; of those that pass,
    # (20, 3) (margin 3.45 -> cap 0.52) is the most likely to be completed: 0.9 x 0.4 > 0.5 x 0.4
    assert c.status == "issued", c.reason
    assert {p.item_id for p in c.habitual} == {20, 3}


def test_excluded_items_leave_too_few_habitual_products() -> None:
    c = _assemble(_member([(6, 0.9), (1, 0.5)], [("SALAD", 4, 0.1)]), make_rules())
    assert (c.status, c.reason_code) == ("no_offer", "no_habitual")
    detail = {r.rule: r.detail for r in c.explanation.rules}
    assert "excluded department 'FUEL'" in detail["excluded"]


def test_min_margin_rate_removes_thin_items() -> None:
    c = _assemble(
        _member([(1, 0.5), (2, 0.4)], [("SALAD", 4, 0.1)]), make_rules(eligibility={"min_margin_rate": 0.31})
    )
    assert c.reason_code == "no_habitual"
    assert (
        "margin rate 30.0% < minimum 31.0%"
        in {r.rule: r.detail for r in c.explanation.rules}["min_margin_rate"]
    )


def test_recent_durable_is_not_offered_again() -> None:
    member = _member([(7, 0.6), (1, 0.5), (2, 0.4)], [("SALAD", 4, 0.1)])
    c = _assemble(member, make_rules())
    assert c.status == "issued"
    assert 7 not in {p.item_id for p in c.habitual}
    assert (
        "durable item 7 bought in data week 8"
        in {r.rule: r.detail for r in c.explanation.rules}["durable_recency"]
    )


def test_durables_count_from_the_models_data_week_not_the_serving_week() -> None:
    # Serving asks for its own calendar's week (here 60 weeks on); the member's purchase weeks are weeks
    # of the data, counted against the model's challenge week: the durable bought 2 data weeks before it
    # stays out, whatever the serving week's number is.
    member = _member([(7, 0.6), (1, 0.5), (2, 0.4)], [("SALAD", 4, 0.1)])
    for serving_week in (WEEK + 60, 3):
        c = assemble_challenge(
            member,
            CATALOG,
            make_rules(),
            serving_week,
            data_week=WEEK,
            model_version="m1",
            rules_version="r1",
        )
        assert c.status == "issued", c.reason
        assert c.week == serving_week
        assert 7 not in {p.item_id for p in c.habitual}
    # without the data week the serving week would be compared with the data's: 60 weeks on, the
    # durable bought in data week 8 looked long ago
    mixed = assemble_challenge(
        member, CATALOG, make_rules(), WEEK + 60, model_version="m1", rules_version="r1"
    )
    assert 7 in {p.item_id for p in mixed.habitual}


def test_stretch_in_a_bought_category_is_never_offered() -> None:
    c = _assemble(_member([(1, 0.5), (2, 0.4)], [("SODA", 1, 0.9)]), make_rules())
    assert (c.status, c.reason_code) == ("no_offer", "no_stretch")


def test_stretch_category_not_repeated_within_n_weeks() -> None:
    member = _member([(1, 0.5), (2, 0.4)], [("SALAD", 4, 0.2), ("LUNCH", 5, 0.1)])
    recent = MemberHistory(stretch_weeks={"SALAD": WEEK - 2})
    c = _assemble(member, make_rules(), recent)
    assert c.stretch is not None
    assert c.stretch.category == "LUNCH"
    old = MemberHistory(stretch_weeks={"SALAD": WEEK - 4})  # stretch_repeat_weeks = 4 in the test rules
    assert _assemble(member, make_rules(), old).stretch.category == "SALAD"  # type: ignore[union-attr]


def test_gold_members_get_fewer_offers() -> None:
    member = _member([(1, 0.5), (2, 0.4)], [("LUNCH", 5, 0.2)], tier="gold")
    rules = make_rules()
    c = _assemble(member, rules, MemberHistory(last_offer_week=WEEK - 1))
    assert (c.status, c.reason_code) == ("no_offer", "tier_frequency")
    assert "every 2 week(s)" in c.reason
    assert _assemble(member, rules, MemberHistory(last_offer_week=WEEK - 2)).status == "issued"
    bronze = _member([(1, 0.5), (2, 0.4)], [("LUNCH", 5, 0.2)], tier="bronze")
    assert _assemble(bronze, rules, MemberHistory(last_offer_week=WEEK - 1)).status == "issued"


def test_unknown_tier_gets_no_offer() -> None:
    c = _assemble(_member([(1, 0.5), (2, 0.4)], [("SALAD", 4, 0.1)], tier="platinum"), make_rules())
    assert (c.status, c.reason_code) == ("no_offer", "tier_policy")


def test_missing_margin_refuses_the_offer_with_that_reason() -> None:
    nan_items = [item(1, "SODA", price=math.nan), item(2, "SNACKS"), item(4, "SALAD")]
    member = _member([(1, 0.5), (2, 0.4)], [("SALAD", 4, 0.1)])
    c = assemble_challenge(
        member, catalog_of(nan_items), make_rules(), WEEK, model_version="m", rules_version="r"
    )
    assert (c.status, c.reason_code) == ("no_offer", "unevaluable")
    assert "cannot be evaluated" in c.reason
    assert "no known margin" in c.reason


def test_missing_probability_refuses_the_offer() -> None:
    c = _assemble(_member([(1, math.nan), (2, 0.4)], [("SALAD", 4, 0.1)]), make_rules())
    assert c.reason_code == "unevaluable"
    assert "purchase probability" in c.reason


def test_paying_for_purchases_that_happen_anyway_fails_the_economic_guard() -> None:
    # no assumed lift: the reward would subsidise baskets the member buys anyway
    rules = make_rules(economic_guard={"min_expected_profit": 0.0, "lifts": lifts_dict(0.0, 0.0)})
    c = _assemble(_member([(1, 0.9), (2, 0.9)], [("SALAD", 4, 0.9)]), rules)
    assert (c.status, c.reason_code) == ("no_offer", "economic_guard")
    assert "< minimum 0.0000" in c.reason


def test_budget_keeps_best_profit_per_cost_and_explains_the_rest() -> None:
    members = [
        _member([(1, 0.5), (2, 0.4)], [("SALAD", 4, 0.1)], member_id=1),
        _member([(1, 0.9), (2, 0.9)], [("LUNCH", 5, 0.5)], member_id=2),  # costly: likely to complete
        _member([(1, 0.3), (3, 0.3)], [("SALAD", 4, 0.05)], member_id=3),
    ]
    artifact = artifact_from(ITEMS, members)
    unlimited = assemble_batch(artifact, make_rules(), WEEK)
    assert all(c.status == "issued" for c in unlimited)
    costs = {c.member_id: c.expected_cost for c in unlimited}
    budget = costs[1] + costs[3] + 1e-9
    limited = assemble_batch(artifact, make_rules(budget={"weekly_expected_cost": budget}), WEEK)
    status = {c.member_id: (c.status, c.reason_code) for c in limited}
    assert status == {1: ("issued", "issued"), 2: ("no_offer", "budget"), 3: ("issued", "issued")}
    assert sum(c.expected_cost for c in limited if c.status == "issued") <= budget
    assert "weekly budget" in limited[1].reason


def test_frame_has_the_stable_columns_and_round_trips(tmp_path: Path) -> None:
    members = [
        _member([(1, 0.5), (2, 0.4)], [("SALAD", 4, 0.1)], member_id=1),
        _member([(6, 0.5)], [], member_id=2),
    ]
    challenges = assemble_batch(artifact_from(ITEMS, members), make_rules(), WEEK)
    frame = challenges_frame(challenges)
    assert tuple(frame.columns[: len(FRAME_COLUMNS)]) == FRAME_COLUMNS
    frame.to_parquet(tmp_path / "c.parquet")
    back = pd.read_parquet(tmp_path / "c.parquet")
    assert back.loc[0, "habitual_1"] == 1
    assert back.loc[0, "stretch_product"] == 4
    assert back["member_id"].tolist() == [1, 2]
    assert back["status"].tolist() == ["issued", "no_offer"]
    assert pd.isna(back.loc[1, "habitual_1"])
    assert back.loc[1, "reward_cost"] == 0.0


def test_shipped_rules_issue_on_a_plain_member() -> None:
    c = _assemble(_member([(1, 0.5), (2, 0.4)], [("SALAD", 4, 0.1)]), load_rules())
    assert c.status == "issued", c.reason


def test_assembled_challenges_are_valid_models_and_round_trip_json() -> None:
    members = [
        _member([(1, 0.5), (2, 0.4)], [("SALAD", 4, 0.1)], member_id=1),
        _member([(6, 0.5)], [], member_id=2),
    ]
    for c in assemble_batch(artifact_from(ITEMS, members), make_rules(), WEEK):
        assert Challenge.model_validate(c.model_dump()) == c
        assert Challenge.model_validate_json(c.model_dump_json()) == c
