"""Adapters from the experiment loop to the serving layer's two hooks, without importing ``engine.serve``.

The serving layer builds them through :class:`engine.serve.experiment.ExperimentRuntime` (from the
``[experiments]`` section of ``configs/serve.toml``); by hand::

    store = open_store(load_experiments_config().store)      # SQLite or Redis, as configured
    definition = find_definition("star_challenge_v1")
    arm_for = make_arm_assigner(definition)                  # (member_id, week) -> arm | None
    hook = make_exposure_hook(store, definition)             # await hook(exposure) -> Progress | None

The exposure only needs ``member_id``, ``week``, ``arm`` and, when a challenge was shown, the challenge
itself (attribute ``challenge``) or its ``item_ids`` and ``reward_cost``: see
:func:`engine.experiments.service.to_snapshot` for the shapes accepted. Optional attributes:
``experiment`` (an exposure of another experiment is ignored, so several hooks can listen side by side)
and ``shadow`` (holdout only: the challenge the member would have had).

Exposure event ids are derived from (experiment, salt, member, week), so recording the same serving
twice (a retry, or a repair after a lost write) is a no-op rather than a second exposure.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable

from engine.errors import ExperimentError
from engine.experiments.assignment import assign_arm
from engine.experiments.definition import ExperimentDefinition
from engine.experiments.events import Progress
from engine.experiments.protocol import EventStore
from engine.experiments.service import record_exposure


def exposure_event_id(definition: ExperimentDefinition, member_id: str, week: int) -> str:
    """The one exposure id of ``member_id`` in ``week`` of ``definition`` (same salt, same id)."""
    return f"exp:{definition.name}:{definition.salt}:{member_id}:{week}"


def make_arm_assigner(definition: ExperimentDefinition) -> Callable[[str, int], str | None]:
    """``(member_id, week) -> arm`` inside the experiment's weeks, None outside them."""

    def arm_for(member_id: str, week: int) -> str | None:
        return assign_arm(definition, member_id) if definition.covers_week(week) else None

    return arm_for


def _shown(exposure: object) -> object | None:
    challenge = getattr(exposure, "challenge", None)
    if challenge is not None:
        return challenge
    if getattr(exposure, "item_ids", None) is not None:
        return exposure
    return None


def make_exposure_hook(
    store: EventStore, definition: ExperimentDefinition, *, in_thread: bool = True
) -> Callable[[object], Awaitable[Progress | None]]:
    """An async hook that records each exposure in ``store``; returns the member's progress for the week.

    ``in_thread`` runs the write in a worker thread (right when a write waits for a disk flush);
    False writes on the event loop, which costs less CPU than the thread hand-off when writes are
    short (SQLite with ``synchronous = "NORMAL"``). An exposure the hook ignores returns None.
    """

    async def hook(exposure: object) -> Progress | None:
        arm = getattr(exposure, "arm", None)
        week = int(getattr(exposure, "week"))  # noqa: B009 - duck-typed on purpose
        experiment = getattr(exposure, "experiment", None)
        if arm is None or not definition.covers_week(week):
            return None
        if experiment is not None and experiment != definition.name:
            return None
        member_id = str(getattr(exposure, "member_id"))  # noqa: B009
        status = getattr(exposure, "status", None)
        shown = _shown(exposure)
        if status == "issued" and shown is None:
            raise ExperimentError(
                f"exposure of member {member_id} week {week} was issued but carries no picks: the hook needs "
                "the challenge (or item_ids and reward_cost) to track progress and rewards"
            )
        challenge = shown if status in (None, "issued") else None
        write = functools.partial(
            record_exposure,
            store,
            definition,
            arm,
            member_id,
            week,
            challenge,
            shadow=getattr(exposure, "shadow", None),
            event_id=exposure_event_id(definition, member_id, week),
        )
        return await asyncio.to_thread(write) if in_thread else write()

    return hook
