"""Populations and namespaces: who an experiment takes, side-by-side experiments, canonical member ids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.errors import ExperimentError
from engine.experiments.assignment import arm_for_member, assign_arm, in_namespace, targets
from engine.experiments.definition import Namespace, check_overlaps
from tests.experiments.conftest import make_definition

CASES = json.loads((Path(__file__).parent / "fixtures" / "growthbook_cases.json").read_text())


@pytest.mark.parametrize(("name", "member", "namespace", "expected"), CASES["inNamespace"])
def test_in_namespace_matches_growthbook(
    name: str, member: str, namespace: tuple[str, float, float], expected: bool
) -> None:
    ns = Namespace(name=namespace[0], start=namespace[1], end=namespace[2])
    assert in_namespace(ns, member) is expected, name


def test_side_by_side_experiments_in_one_namespace_never_share_a_member() -> None:
    left = make_definition(name="left", salt="s-left", namespace={"name": "weekly", "start": 0, "end": 0.5})
    right = make_definition(
        name="right", salt="s-right", namespace={"name": "weekly", "start": 0.5, "end": 1.0}
    )
    check_overlaps([left, right])  # same population, same weeks: allowed, the ranges do not overlap
    members = [str(m) for m in range(4000)]
    in_left = {m for m in members if targets(left, m)}
    in_right = {m for m in members if targets(right, m)}
    assert not in_left & in_right
    assert in_left | in_right == set(members)  # the two halves cover everyone
    assert 0.45 < len(in_left) / len(members) < 0.55
    assert arm_for_member(left, next(iter(in_right))) is None
    m = next(iter(in_left))
    assert arm_for_member(left, m) == assign_arm(left, m)


def test_overlapping_ranges_or_tiers_are_refused_and_disjoint_ones_allowed() -> None:
    a = make_definition(namespace={"name": "weekly", "start": 0, "end": 0.6})
    b = make_definition(name="exp_b", salt="salt-b", namespace={"name": "weekly", "start": 0.5, "end": 1.0})
    with pytest.raises(ExperimentError, match="overlap"):
        check_overlaps([a, b])
    # Different namespaces hash independently: they can share members.
    c = make_definition(name="exp_c", salt="salt-c", namespace={"name": "other", "start": 0.6, "end": 1.0})
    with pytest.raises(ExperimentError, match="overlap"):
        check_overlaps([a, c])
    gold = make_definition(name="exp_g", salt="salt-g", tiers=["gold", "diamond"])
    bronze = make_definition(name="exp_h", salt="salt-h", tiers=["bronze", "silver"])
    check_overlaps([gold, bronze])
    with pytest.raises(ExperimentError, match="overlap"):
        check_overlaps([gold, make_definition(name="exp_i", salt="salt-i")])


def test_tiers_limit_who_is_targeted() -> None:
    gold = make_definition(tiers=["gold", "diamond"])
    assert targets(gold, "17", tier="gold")
    assert not targets(gold, "17", tier="bronze")
    assert arm_for_member(gold, "17", tier="bronze") is None
    with pytest.raises(ExperimentError, match="tier"):
        targets(gold, "17")  # a tier-targeted experiment needs the member's tier
    assert targets(make_definition(), "17")  # no tiers: everyone


def test_assignment_uses_the_canonical_member_id() -> None:
    d = make_definition()
    assert assign_arm(d, 7) == assign_arm(d, "7")
    with pytest.raises(ExperimentError, match="not canonical"):
        assign_arm(d, "007")
    with pytest.raises(ExperimentError, match="may hold only"):
        assign_arm(d, "a b")


def test_namespace_and_tiers_are_part_of_the_assignment_lock() -> None:
    plain = make_definition()
    assert plain.assignment_fingerprint() == make_definition(description="x").assignment_fingerprint()
    moved = make_definition(namespace={"name": "weekly", "start": 0, "end": 0.5})
    assert moved.assignment_fingerprint() != plain.assignment_fingerprint()
    assert make_definition(tiers=["gold"]).assignment_fingerprint() != plain.assignment_fingerprint()


def test_a_bad_namespace_range_is_refused() -> None:
    with pytest.raises(ValueError, match="below end"):
        make_definition(namespace={"name": "weekly", "start": 0.5, "end": 0.5})
