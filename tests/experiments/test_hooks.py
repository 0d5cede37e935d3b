"""The serving hooks record exposures through the same path as the service functions."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from engine.errors import Conflict, ExperimentError
from engine.experiments.assignment import assign_arm
from engine.experiments.definition import ExperimentDefinition
from engine.experiments.events import ChallengeSnapshot, ExposureEvent, Progress
from engine.experiments.hooks import ExposureBatcher, exposure_event_id, make_arm_assigner, make_exposure_hook
from engine.experiments.protocol import EventStore
from engine.experiments.service import exposure_event
from tests.experiments.conftest import make_definition


@dataclass(frozen=True)
class FakeExposure:
    """A :class:`~engine.experiments.shown.ServedExposure`: what the issuer's exposure carries."""

    member_id: str
    week: int
    arm: str | None
    status: str
    challenge: object | None = None
    experiment: str | None = None
    shadow: object | None = None
    payload: bytes | None = None


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


class CountingWrites:
    """The real store, counting its group-commit writes (to prove concurrent exposures share one)."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.batches: list[int] = []

    def add_exposures(self, events: Sequence[ExposureEvent]) -> list[Progress | Conflict]:
        self.batches.append(len(events))
        return self.store.add_exposures(events)


def test_concurrent_exposures_are_group_committed_and_a_conflict_stays_its_own(
    definition: ExperimentDefinition, store: EventStore
) -> None:
    offer = ChallengeSnapshot(item_ids=("1", "2", "3"), reward_cost=2.0)
    other = ChallengeSnapshot(item_ids=("7", "8", "9"), reward_cost=2.0)
    members = [str(m) for m in range(40)]
    # Same experiment, new salt: a new exposure id for a member-week already served other picks.
    resalted = make_definition(salt="salt-b")
    clash = next(m for m in members if {assign_arm(d, m) for d in (definition, resalted)} == {"recommender"})

    def event(d: ExperimentDefinition, member: str, shown: ChallengeSnapshot) -> ExposureEvent:
        arm = assign_arm(d, member)
        challenge = None if arm == "holdout" else shown
        return exposure_event(store, d, arm, member, 10, challenge, event_id=exposure_event_id(d, member, 10))

    counting = CountingWrites(store)
    batcher = ExposureBatcher(counting)  # type: ignore[arg-type]  # only add_exposures is used

    async def serve() -> list[Progress | BaseException]:
        first = await asyncio.gather(*(batcher.write(event(definition, m, offer)) for m in members))
        writes = [batcher.write(event(definition, m, offer)) for m in members[:3]]  # repeats: no-ops
        writes.append(batcher.write(event(resalted, clash, other)))
        return [*first, *await asyncio.gather(*writes, return_exceptions=True)]

    answers = asyncio.run(serve())
    assert counting.batches == [40, 4]  # one write per loop turn, not one per exposure
    assert all(isinstance(a, Progress) for a in answers[:-1])
    assert isinstance(answers[-1], Conflict)
    assert answers[40:43] == answers[:3]
    assert store.counts()["exposures"] == 40
    assert store.progress(clash, 10).picks[0].item_id == "1"  # the first challenge stands
    holdout = next(a for a in answers[:40] if isinstance(a, Progress) and a.arm == "holdout")
    assert holdout.offered is False
