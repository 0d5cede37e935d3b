"""Property tests: over random catalogs, margins, scores and rules, no issued challenge breaks a rule.

Every check here recomputes the rule from the rules config and the catalog by itself rather than
calling the engine's guard functions, so a bug in those functions cannot hide from it.
"""

from __future__ import annotations

import math
from statistics import NormalDist

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from engine.candidates import ItemInfo, MemberCandidates
from engine.challenge import Challenge, MemberHistory, assemble_batch, habit_value
from engine.rules.budget import allocate_budget
from engine.rules.config import RulesConfig
from tests.strategies import artifact_from, scenarios

WEEK = 10
TOL = 1e-9


def _lifted(p: float, kind: str, department: str, rules: RulesConfig) -> float:
    """p_offer recomputed from the lift file: odds ratio at the guards' quantile, never below 0."""
    econ = rules.economic_guard
    entries = {(e.kind, e.department): e for e in econ.lifts.lift}
    e = entries.get((kind, department), entries[(kind, "*")])
    beta = max(0.0, e.log_odds + NormalDist().inv_cdf(econ.lift_quantile) * e.std_error)
    if p <= 0 or p >= 1:
        return p
    odds = p / (1 - p) * math.exp(beta)
    return odds / (1 + odds)


def _eligible_item(it: ItemInfo, rules: RulesConfig) -> None:
    e = rules.eligibility
    assert not it.excluded
    assert it.item_id not in e.excluded_item_ids
    assert it.department not in e.excluded_departments
    assert it.category not in e.excluded_categories
    assert it.margin_rate >= e.min_margin_rate


def _check_issued(
    c: Challenge, m: MemberCandidates, items: dict[int, ItemInfo], rules: RulesConfig, history: MemberHistory
) -> None:
    assert len(c.habitual) == 2
    assert c.stretch is not None
    assert c.reward is not None
    h_ids = [p.item_id for p in c.habitual]
    assert h_ids[0] != h_ids[1]
    by_item = {h.item_id: h for h in m.habitual}
    assert all(i in by_item for i in h_ids)
    # the stretch category is new to the member and is not one of the habitual picks' categories
    assert c.stretch.category not in m.bought_categories
    assert c.stretch.category not in {p.category for p in c.habitual}
    assert c.stretch.category in {s.category for s in m.stretch}
    stretch_item = items[c.stretch.item_id]  # type: ignore[index]
    assert stretch_item.category == c.stretch.category
    picks = [items[i] for i in h_ids] + [stretch_item]  # type: ignore[index]
    for it in picks:
        _eligible_item(it, rules)
    rec = rules.eligibility.recency
    for i in h_ids:
        it, last = items[i], by_item[i].last_week  # type: ignore[index]
        if it.department in rec.durable_departments and last is not None and rec.durable_weeks > 0:
            assert WEEK - last > rec.durable_weeks
    offered = history.stretch_weeks.get(c.stretch.category)
    assert offered is None or not (0 <= WEEK - offered < rec.stretch_repeat_weeks)
    policy = rules.tiers[m.tier]
    if history.last_offer_week is not None:
        assert WEEK - history.last_offer_week >= policy.min_weeks_between_offers
    # hard guard from the catalog's own prices and margins; the reward is the tier's, or cut to the
    # floor at the least, and then only when the full reward does not fit
    stars = c.reward.stars
    assert policy.floor_stars <= stars <= policy.stars
    cost = stars * policy.cash_per_star
    assert math.isclose(c.reward.cash_cost, cost)
    margins = [it.price * it.margin_rate for it in picks]
    assert all(math.isfinite(x) for x in margins)
    cap = rules.hard_guard.max_reward_share * sum(margins)
    assert cost <= cap + TOL
    if stars < policy.stars:
        assert (stars + 1) * policy.cash_per_star > cap - TOL
    # economic guard from the model's scores and the lift file
    econ = rules.economic_guard
    p_base = [by_item[i].score for i in h_ids] + [
        next(s.score for s in m.stretch if s.category == c.stretch.category)
    ]
    kinds = ["habitual", "habitual", "stretch"]
    p_offer = [_lifted(p, k, it.department, rules) for p, k, it in zip(p_base, kinds, picks, strict=True)]
    assert all(0 <= p <= 1 for p in p_base + p_offer)
    p_complete = math.prod(p_offer)
    assert p_complete >= policy.min_p_complete - TOL
    habit = habit_value(stretch_item) if econ.count_habit_value else 0.0
    values = [*margins[:2], margins[2] + habit]
    profit = sum(v * (po - pb) for v, pb, po in zip(values, p_base, p_offer, strict=True)) - cost * p_complete
    assert profit >= econ.min_expected_profit - TOL
    assert math.isclose(c.expected_profit, profit, rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(c.expected_cost, cost * p_complete, rel_tol=1e-9, abs_tol=1e-12)


Scenario = tuple[list[ItemInfo], list[MemberCandidates], RulesConfig, dict[int | str, MemberHistory]]


def _run(s: Scenario) -> list[Challenge]:
    items, members, rules, history = s
    return assemble_batch(artifact_from(items, members), rules, WEEK, history)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(s=scenarios(WEEK))
def test_no_issued_challenge_breaks_a_rule(s: Scenario) -> None:
    items, members, rules, history = s
    challenges = _run(s)
    assert [c.member_id for c in challenges] == [m.member_id for m in members]
    by_id = {i.item_id: i for i in items}
    for c, m in zip(challenges, members, strict=True):
        assert c.week == WEEK
        assert c.tier == m.tier
        if c.status == "issued":
            _check_issued(c, m, by_id, rules, history[m.member_id])  # type: ignore[arg-type]
        else:
            assert c.habitual == []
            assert c.stretch is None
            assert c.reward is None
            assert c.reason
            assert c.reason_code != "issued"
            assert c.expected_cost == 0.0
    budget = rules.budget.weekly_expected_cost
    if budget is not None:
        assert sum(c.expected_cost for c in challenges if c.status == "issued") <= budget + TOL
    trial = rules.budget.weekly_trial_cost
    if trial is not None:
        assert sum(c.expected_cost for c in challenges if c.status == "issued" and c.trial) <= trial + TOL


def test_the_scenarios_do_issue_challenges() -> None:
    """Guard against a vacuous property: the random scenarios must reach issued challenges."""
    issued: list[int] = []

    @settings(max_examples=80, derandomize=True, database=None, deadline=None, phases=[Phase.generate])
    @given(s=scenarios(WEEK))
    def run(s: Scenario) -> None:
        issued.append(sum(c.status == "issued" for c in _run(s)))

    run()
    assert sum(issued) >= 10, issued


@given(
    costs=st.lists(st.floats(0.0, 5.0), min_size=0, max_size=40),
    profits=st.lists(
        st.sampled_from([-1.0, 0.0, 0.5, 1.0, 2.0]) | st.floats(-1.0, 5.0), min_size=40, max_size=40
    ),
    keys=st.lists(st.integers(0, 2**40), min_size=40, max_size=40, unique=True),
    budget=st.floats(0.0, 20.0),
)
def test_budget_is_never_exceeded_and_kept_is_what_clears_the_shadow_price(
    costs: list[float], profits: list[float], keys: list[int], budget: float
) -> None:
    profits, keys = profits[: len(costs)], keys[: len(costs)]
    alloc = allocate_budget(costs, profits, budget, keys)
    kept = alloc.keep.tolist()
    assert sum(c for c, k in zip(costs, kept, strict=True) if k) <= budget + TOL
    price = alloc.shadow_price
    if price is None:
        assert all(kept)
        return
    # what serving decides one request at a time, in any order, is exactly what the batch kept
    assert kept == [price.admits(c, p, k) for c, p, k in zip(costs, profits, keys, strict=True)]
    # the price is the first that does not fit: adding it to what was kept would overspend
    at = next(
        c
        for c, p, k in zip(costs, profits, keys, strict=True)
        if c > 0 and (p / c, k) == (price.ratio, price.key)
    )
    assert alloc.spent + at > budget - TOL
