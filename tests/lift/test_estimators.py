"""The estimators recover an injected effect, give about zero without one, and do the arithmetic right."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.lift import campaigns as cm
from engine.lift.bootstrap import bootstrap, poisson_weights, safe_log_ratio
from engine.lift.estimate import LiftEvidence, MethodEstimate
from engine.rules.lift import PickKind


def _star(evidence: LiftEvidence, method: str, kind: PickKind) -> MethodEstimate:
    found = evidence.find(method, kind)  # type: ignore[arg-type]
    assert found is not None
    return found


@pytest.mark.parametrize(("kind", "injected"), [("habitual", 0.6), ("stretch", 0.8)])
def test_difference_in_differences_recovers_the_injected_effect(
    with_effect: LiftEvidence, kind: PickKind, injected: float
) -> None:
    # recipients sit 0.4 higher and everyone rises 0.3 in the campaign weeks: only the DiD is right
    for method in ("campaign_specific", "campaign_targeted_alike"):
        e = _star(with_effect, method, kind)
        assert e.ci_low <= injected <= e.ci_high, e
        assert e.shows_lift
        assert abs(e.log_odds - injected) < 0.25
    # the targeted-alike comparison keeps only campaign 2's recipients: fewer households
    alike = _star(with_effect, "campaign_targeted_alike", kind).households
    assert alike < _star(with_effect, "campaign_specific", kind).households


@pytest.mark.parametrize("kind", ["habitual", "stretch"])
def test_no_effect_gives_an_interval_around_zero(without_effect: LiftEvidence, kind: PickKind) -> None:
    for method in ("campaign_all", "campaign_specific", "campaign_targeted_alike"):
        e = _star(without_effect, method, kind)
        assert e.ci_low < 0.0 < e.ci_high, e
        assert not e.shows_lift
        assert abs(e.log_odds) < 0.2


def test_promotions_recover_the_in_store_effect(
    without_effect: LiftEvidence, with_effect: LiftEvidence
) -> None:
    promoted = _star(without_effect, "promotions", "habitual")
    assert promoted.ci_low <= 0.5 <= promoted.ci_high, promoted
    assert promoted.shows_lift
    none = _star(with_effect, "promotions", "habitual")
    assert none.ci_low < 0.0 < none.ci_high, none


def test_per_type_and_department_rows_and_the_early_campaign_note(with_effect: LiftEvidence) -> None:
    rows = {(e.method, e.kind, e.department, e.campaign_type) for e in with_effect.estimates}
    assert ("campaign_all", "habitual", "*", "A") in rows
    assert ("campaign_all", "habitual", "GROCERY", "*") in rows  # the coupon products' department
    assert ("campaign_all", "stretch", "PRODUCE", "*") in rows
    assert any("campaign 2: fewer than 8 weeks" in n for n in with_effect.notes)
    assert [w.campaign_id for w in with_effect.campaign_windows] == [1]
    window = with_effect.campaign_windows[0]
    assert (window.pre_start, window.start, window.end) == (10, 16, 21)


def test_habitual_statistic_by_hand() -> None:
    # campaign 0: treated MH OR 6/2 = 3; comparison 2/2 = 1 -> log 3.
    one = np.array([[6.0, 2.0, 10.0, 2.0, 2.0, 10.0]])
    assert cm.habitual_statistic(one) == pytest.approx(math.log(3.0))
    # a second campaign whose comparison has 4x the pairs is scaled down to the treated's 10 pairs
    two = np.array([[6.0, 2.0, 10.0, 2.0, 2.0, 10.0], [3.0, 1.0, 10.0, 8.0, 16.0, 40.0]])
    treated = math.log(9.0 / 3.0)
    comparison = math.log((2.0 + 0.25 * 8.0) / (2.0 + 0.25 * 16.0))
    assert cm.habitual_statistic(two) == pytest.approx(treated - comparison)


def test_stretch_statistic_by_hand() -> None:
    # treated hazard 10/1000 -> 20/1000; comparison 10/1000 -> 10/1000
    sums = np.array([[10.0, 1000.0, 20.0, 1000.0, 10.0, 1000.0, 10.0, 1000.0]])
    logit = lambda p: math.log(p / (1 - p))  # noqa: E731
    assert cm.stretch_statistic(sums) == pytest.approx(logit(0.02) - logit(0.01))


def test_bootstrap_interval_holds_the_estimate_and_is_reproducible() -> None:
    rng = np.random.default_rng(0)
    per_household = rng.poisson(3.0, size=(400, 2)).astype(np.float64)

    def ratio(s: np.ndarray) -> np.ndarray:
        return safe_log_ratio(s[..., 0], s[..., 1])

    w = poisson_weights(400, 300, seed=5)
    a = bootstrap(per_household, ratio, w, 0.95)
    b = bootstrap(per_household, ratio, poisson_weights(400, 300, seed=5), 0.95)
    assert a == b
    assert a.ci_low <= a.estimate <= a.ci_high
    assert 0.0 < a.std_error < 0.1
    empty = bootstrap(np.zeros((10, 2)), ratio, poisson_weights(10, 20, seed=1), 0.95)
    assert not empty.finite
