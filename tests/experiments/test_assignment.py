"""Assignment reproduces GrowthBook's published cases, is deterministic, balanced and sticky."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import chisquare

from engine.errors import ExperimentError
from engine.experiments.assignment import assign_arm, assign_many, bucket_ranges, choose_variation, gbhash
from engine.experiments.definition import ExperimentDefinition
from engine.experiments.events import ChallengeSnapshot
from engine.experiments.protocol import EventStore
from engine.experiments.service import record_exposure
from engine.serve.member_ids import member_id_problem
from tests.experiments.conftest import StoreFactory, make_definition

OFFER = ChallengeSnapshot(item_ids=("a", "b", "c"), reward_cost=2.0)
CASES = json.loads((Path(__file__).parent / "fixtures" / "growthbook_cases.json").read_text())


@pytest.mark.parametrize(("seed", "value", "version", "expected"), CASES["hash"])
def test_gbhash_matches_growthbook(seed: str, value: str, version: int, expected: float | None) -> None:
    assert gbhash(seed, value, version) == expected


@pytest.mark.parametrize(("name", "args", "expected"), CASES["getBucketRange"])
def test_bucket_ranges_match_growthbook(
    name: str, args: tuple[int, float, list[float] | None], expected: list[list[float]]
) -> None:
    got = bucket_ranges(*args)
    assert [list(r) for r in got] == [pytest.approx(r) for r in expected], name


@pytest.mark.parametrize(
    ("n", "ranges", "expected"),
    [
        (0.4, [(0, 0.5), (0.5, 1)], 0),
        (0.6, [(0, 0.5), (0.5, 1)], 1),
        (0.5, [(0, 0.5), (0.5, 1)], 1),
        (0.2, [(0, 0.25), (0.5, 0.75)], 0),
        (0.4, [(0, 0.25), (0.5, 0.75)], -1),
        (0.4, [(0, 0), (0.5, 0.5)], -1),
    ],
)
def test_choose_variation(n: float, ranges: list[tuple[float, float]], expected: int) -> None:
    assert choose_variation(n, ranges) == expected


def test_assignment_is_deterministic_and_int_equals_str(definition: ExperimentDefinition) -> None:
    ids = list(range(1000))
    assert assign_many(definition, ids) == assign_many(definition, ids)
    assert assign_many(definition, ids) == assign_many(definition, [str(i) for i in ids])


def test_assignment_is_balanced_on_100k_ids(definition: ExperimentDefinition) -> None:
    n = 100_000
    arms = assign_many(definition, [f"m{i}" for i in range(n)])
    observed = [arms.count(a) for a in definition.arm_names]
    expected = [w * n for w in definition.weights]
    assert chisquare(observed, expected).pvalue > 0.001, observed


def test_new_salt_reshuffles_members(definition: ExperimentDefinition) -> None:
    other = make_definition(salt="another-salt")
    ids = list(range(2000))
    same = sum(a == b for a, b in zip(assign_many(definition, ids), assign_many(other, ids), strict=True))
    # Independent draws agree with probability 0.4^2 + 0.3^2 + 0.3^2 = 0.34.
    assert 0.28 < same / len(ids) < 0.40


@given(st.one_of(st.integers(min_value=0, max_value=2**62), st.text(min_size=1, max_size=30)))
def test_every_canonical_member_gets_a_known_arm_and_others_a_reason(member_id: int | str) -> None:
    problem = member_id_problem(str(member_id))
    if problem is None:
        assert assign_arm(make_definition(), member_id) in {"recommender", "baseline", "holdout"}
    else:
        with pytest.raises(ExperimentError, match="member id"):
            assign_arm(make_definition(), member_id)


def test_sticky_across_store_restart(definition: ExperimentDefinition, make_store: StoreFactory) -> None:
    offer = ChallengeSnapshot(item_ids=("1", "2", "3"), reward_cost=2.0)
    arms_before = {}
    store = make_store("sticky")
    for m in range(50):
        arm = assign_arm(definition, m)
        arms_before[m] = arm
        challenge = None if arm == "holdout" else offer
        record_exposure(store, definition, arm, m, 10, challenge)
    store.close()
    store = make_store("sticky")
    for m in range(50):
        assert assign_arm(definition, m) == arms_before[m]
        assert store.progress(m, 10).arm == arms_before[m]


def _reweighted(salt: str = "salt-a") -> ExperimentDefinition:
    return make_definition(
        salt=salt,
        arms=[
            {"name": "recommender", "policy": "recommender", "weight": 0.5},
            {"name": "baseline", "policy": "baseline", "weight": 0.2},
            {"name": "holdout", "policy": "holdout", "weight": 0.3},
        ],
    )


def test_weight_change_mid_experiment_is_refused(definition: ExperimentDefinition, store: EventStore) -> None:
    arm = assign_arm(definition, 7)
    record_exposure(store, definition, arm, 7, 10, None if arm == "holdout" else OFFER)
    changed = _reweighted()
    with pytest.raises(ExperimentError, match="new salt"):
        record_exposure(store, changed, assign_arm(changed, 8), 8, 10, None)
    with_new_salt = _reweighted(salt="salt-a2")
    arm = assign_arm(with_new_salt, 8)
    record_exposure(
        store,
        with_new_salt,
        arm,
        8,
        11,
        None if arm == "holdout" else {"item_ids": [1, 2, 3], "reward_cost": 2},
    )


def test_added_arm_mid_experiment_is_refused(definition: ExperimentDefinition, store: EventStore) -> None:
    store.ensure_assignment_lock(definition)
    added = make_definition(
        arms=[
            {"name": "recommender", "policy": "recommender", "weight": 0.4},
            {"name": "baseline", "policy": "baseline", "weight": 0.2},
            {"name": "baseline2", "policy": "baseline", "weight": 0.1},
            {"name": "holdout", "policy": "holdout", "weight": 0.3},
        ]
    )
    with pytest.raises(ExperimentError, match="arms or weights changed"):
        store.ensure_assignment_lock(added)


def test_exposure_with_wrong_arm_or_week_is_refused(
    definition: ExperimentDefinition, store: EventStore
) -> None:
    arm = assign_arm(definition, 1)
    wrong = next(a for a in definition.arm_names if a != arm)
    with pytest.raises(ExperimentError, match="is assigned to"):
        record_exposure(store, definition, wrong, 1, 10, None)
    with pytest.raises(ExperimentError, match="runs weeks 10-13"):
        record_exposure(store, definition, arm, 1, 14, None)
    holdout_member = next(m for m in range(100) if assign_arm(definition, m) == "holdout")
    with pytest.raises(ExperimentError, match="must get no offer"):
        record_exposure(store, definition, "holdout", holdout_member, 10, OFFER)
    treated = next(m for m in range(100) if assign_arm(definition, m) == "recommender")
    with pytest.raises(ExperimentError, match="only holdout exposures carry a shadow"):
        record_exposure(store, definition, "recommender", treated, 10, None, shadow=OFFER)
