"""Negative signals: per-kind actions, the reaction probability, and the expected-value term."""

from __future__ import annotations

import pytest

from engine.candidates import HabitualCandidate, MemberCandidates, StretchCandidate
from engine.challenge import Challenge, MemberHistory, assemble_challenge
from engine.errors import RulesError
from engine.rules.negative import (
    MemberSignals,
    NegativeSignalRules,
    reaction_cost,
    reaction_probability,
    signal_policy,
)
from tests.strategies import catalog_of, item, make_rules

RULES = NegativeSignalRules(
    value_lost_per_opt_out=10.0, base_rate=0.01, prior_offers=20, reduce_extra_weeks=2
)
CATALOG = catalog_of([item(1, "SODA"), item(2, "SNACKS"), item(4, "SALAD", price=5.0, margin_rate=0.4)])
MEMBER = MemberCandidates(
    1,
    "bronze",
    (HabitualCandidate(1, 0.5, 5, 8), HabitualCandidate(2, 0.4, 5, 8)),
    (StretchCandidate("SALAD", 0.1, 4, 0.0),),
    frozenset({"SODA", "SNACKS"}),
)


def test_opt_out_stops_until_opt_in() -> None:
    assert signal_policy(MemberSignals({"opt_out": 1}, opted_out=True), RULES).stop == "opt_out"
    assert signal_policy(MemberSignals({"opt_out": 1}, opted_out=False), RULES).stop is None


def test_unsubscribe_keeps_in_app_offer_without_message() -> None:
    said = signal_policy(MemberSignals({"unsubscribe": 2}), RULES)
    assert (said.stop, said.message, said.extra_weeks) == (None, False, 0)


def test_blocked_notifications_lower_frequency() -> None:
    said = signal_policy(MemberSignals({"blocked_notifications": 1}), RULES)
    assert (said.stop, said.message, said.extra_weeks) == (None, True, 2)


def test_reaction_probability_is_smoothed_towards_base_rate() -> None:
    assert reaction_probability(MemberSignals(), RULES) == pytest.approx(0.01)
    # 2 negatives over 30 offers: (0.01 x 20 + 2) / (20 + 30)
    p = reaction_probability(MemberSignals({"unsubscribe": 1, "blocked_notifications": 1}, offers=30), RULES)
    assert p == pytest.approx(2.2 / 50)
    assert reaction_cost(MemberSignals(), RULES) == pytest.approx(0.1)


def _run(rules_extra: dict[str, object], signals: MemberSignals | None, last: int | None = None) -> Challenge:
    return assemble_challenge(
        MEMBER,
        CATALOG,
        make_rules(negative_signals=rules_extra),
        10,
        history=MemberHistory(last_offer_week=last),
        signals=signals,
        model_version="m",
        rules_version="r",
    )


def test_expected_profit_subtracts_the_reaction_cost() -> None:
    plain = _run({}, None)
    priced = _run({"value_lost_per_opt_out": 0.05, "base_rate": 0.5}, None)
    assert plain.status == priced.status == "issued"
    assert priced.expected_profit == pytest.approx(plain.expected_profit - 0.025)
    assert "negative reaction 0.0250" in priced.explanation.arithmetic


def test_reaction_cost_can_refuse_a_thin_offer() -> None:
    c = _run({"value_lost_per_opt_out": 100.0, "base_rate": 0.5}, None)
    assert c.status == "no_offer"
    assert c.reason_code == "economic_guard"
    assert "negative reaction" in c.reason


def test_signals_through_assembly() -> None:
    stopped = _run({}, MemberSignals({"opt_out": 1}, opted_out=True))
    assert (stopped.status, stopped.reason_code) == ("no_offer", "signal_opt_out")
    quiet = _run({}, MemberSignals({"unsubscribe": 1}))
    assert quiet.status == "issued"
    assert any(r.rule == "message_channel" and not r.passed for r in quiet.explanation.rules)
    thinned = _run({"reduce_extra_weeks": 2}, MemberSignals({"blocked_notifications": 1}), last=8)
    assert thinned.reason_code == "tier_frequency"
    assert _run({}, None, last=8).status == "issued"


def test_bad_config_names_the_key() -> None:
    with pytest.raises(RulesError, match=r"negative_signals\.unsubscribe"):
        make_rules(negative_signals={"unsubscribe": "shout"})
