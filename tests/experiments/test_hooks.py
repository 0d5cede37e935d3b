"""The serving hooks record exposures through the same path as the service functions."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from engine.errors import ExperimentError
from engine.experiments.assignment import assign_arm
from engine.experiments.definition import ExperimentDefinition
from engine.experiments.events import ChallengeSnapshot
from engine.experiments.hooks import make_arm_assigner, make_exposure_hook
from engine.experiments.protocol import EventStore


@dataclass(frozen=True)
class FakeExposure:
    """The fields the issuer's exposure carries (plus the shown challenge)."""

    member_id: str
    week: int
    arm: str | None
    status: str
    challenge: object | None = None


def test_hooks_record_treated_and_holdout(definition: ExperimentDefinition, store: EventStore) -> None:
    arm_for = make_arm_assigner(definition)
    assert arm_for("5", 9) is None
    hook = make_exposure_hook(store, definition)
    offer = ChallengeSnapshot(item_ids=("1", "2", "3"), reward_cost=2.0)
    treated = next(str(m) for m in range(100) if assign_arm(definition, m) == "recommender")
    held = next(str(m) for m in range(100) if assign_arm(definition, m) == "holdout")
    asyncio.run(hook(FakeExposure(treated, 10, arm_for(treated, 10), "issued", offer)))
    asyncio.run(hook(FakeExposure(held, 10, arm_for(held, 10), "no_offer")))
    asyncio.run(hook(FakeExposure(held, 20, None, "issued", offer)))  # outside the experiment: ignored
    assert store.progress(treated, 10).offered
    assert store.progress(held, 10).arm == "holdout"
    assert store.counts()["exposures"] == 2
    with pytest.raises(ExperimentError, match="carries no picks"):
        asyncio.run(hook(FakeExposure(treated, 11, "recommender", "issued")))


def test_hook_ids_make_a_repeat_a_no_op_and_skip_other_experiments(
    definition: ExperimentDefinition, store: EventStore
) -> None:
    @dataclass(frozen=True)
    class ServedExposure(FakeExposure):
        experiment: str | None = None
        shadow: object | None = None

    hook = make_exposure_hook(store, definition)
    offer = ChallengeSnapshot(item_ids=("1", "2", "3"), reward_cost=2.0)
    held = next(str(m) for m in range(100) if assign_arm(definition, m) == "holdout")
    treated = next(str(m) for m in range(100) if assign_arm(definition, m) == "recommender")
    first = asyncio.run(hook(ServedExposure(held, 10, "holdout", "no_offer", None, definition.name, offer)))
    again = asyncio.run(hook(ServedExposure(held, 10, "holdout", "no_offer", None, definition.name, offer)))
    assert first == again
    assert first is not None
    assert not first.offered
    other = ServedExposure(treated, 10, "recommender", "issued", offer, "another_experiment")
    assert asyncio.run(hook(other)) is None
    assert store.counts()["exposures"] == 1
    shadow = store.table("challenges").set_index("member_id").loc[held]
    assert (shadow["shown"], shadow["item_ids"]) == (0, '["1", "2", "3"]')
