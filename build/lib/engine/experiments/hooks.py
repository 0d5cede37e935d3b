"""Adapters from the experiment loop to the serving layer's two hooks, without importing ``engine.serve``.

The serving layer builds them through :class:`engine.serve.experiment.ExperimentRuntime` (from the
``[experiments]`` section of ``configs/serve.toml``); by hand::

    store = open_store(load_experiments_config().store)      # SQLite or Redis, as configured
    definition = find_definition("star_challenge_v1")
    arm_for = make_arm_assigner(definition)                  # (member_id, week) -> arm | None
    hook = make_exposure_hook(store, definition)             # await hook(exposure) -> Progress | None

The exposure is a :class:`~engine.experiments.shown.ServedExposure`: ``member_id``, ``week``, ``arm``,
``status``, the ``challenge`` shown (see :func:`engine.experiments.shown.to_snapshot` for the shapes
accepted), ``experiment`` (an exposure of another experiment is ignored, so several hooks can listen side
by side), ``shadow`` (holdout only: the challenge the member would have had) and ``payload`` (the exact
answer served, kept so that a challenge the online store lost can be served again unchanged).

Exposure event ids are derived from (experiment, salt, member, week), so recording the same serving
twice (a retry, or a repair after a lost write) is a no-op rather than a second exposure.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from engine.errors import ExperimentError
from engine.experiments.assignment import assign_arm
from engine.experiments.definition import ExperimentDefinition
from engine.experiments.events import ExposureEvent, Progress
from engine.experiments.protocol import EventStore
from engine.experiments.service import exposure_event
from engine.experiments.shown import ServedExposure
from engine.experiments.writers import ExposureBatcher as ExposureBatcher  # re-exported: callers use it


def exposure_event_id(definition: ExperimentDefinition, member_id: str, week: int) -> str:
    """The one exposure id of ``member_id`` in ``week`` of ``definition`` (same salt, same id)."""
    return f"exp:{definition.name}:{definition.salt}:{member_id}:{week}"


def make_arm_assigner(definition: ExperimentDefinition) -> Callable[[str, int], str | None]:
    """``(member_id, week) -> arm`` inside the experiment's weeks, None outside them."""

    def arm_for(member_id: str, week: int) -> str | None:
        return assign_arm(definition, member_id) if definition.covers_week(week) else None

    return arm_for


def exposure_event_of(
    store: EventStore, definition: ExperimentDefinition, exposure: ServedExposure
) -> ExposureEvent | None:
    """The checked :class:`ExposureEvent` of a served exposure; None if ``definition`` ignores it.

    Raises
    ------
    ExperimentError
        An issued exposure without picks, or any refusal of
        :func:`~engine.experiments.service.exposure_event`.
    """
    week = exposure.week
    if exposure.arm is None or not definition.covers_week(week):
        return None
    if exposure.experiment is not None and exposure.experiment != definition.name:
        return None
    member_id = str(exposure.member_id)
    if exposure.status == "issued" and exposure.challenge is None:
        raise ExperimentError(
            f"exposure of member {member_id} week {week} was issued but carries no picks: the hook needs "
            "the challenge to track progress and rewards"
        )
    payload = exposure.payload
    return exposure_event(
        store,
        definition,
        exposure.arm,
        member_id,
        week,
        exposure.challenge if exposure.status == "issued" else None,
        shadow=exposure.shadow,
        event_id=exposure_event_id(definition, member_id, week),
        served=None if payload is None else payload.decode(),
    )


def make_exposure_hook(
    store: EventStore,
    definition: ExperimentDefinition,
    *,
    in_thread: bool = True,
    writer: Callable[[ExposureEvent], Awaitable[Progress]] | None = None,
) -> Callable[[ServedExposure], Awaitable[Progress | None]]:
    """An async hook that records each exposure in ``store``; returns the member's progress for the week.

    ``in_thread`` runs the write in a worker thread (right when a write waits for a disk flush);
    False writes on the event loop, which costs less CPU than the thread hand-off when writes are
    short (SQLite with ``synchronous = "NORMAL"``). ``writer`` (async, e.g. :meth:`ExposureBatcher.write`,
    which group-commits the exposures of concurrent requests) replaces both. An exposure the hook
    ignores returns None.
    """

    async def hook(exposure: ServedExposure) -> Progress | None:
        if writer is not None:
            event = exposure_event_of(store, definition, exposure)
            return None if event is None else await writer(event)

        def write() -> Progress | None:
            event = exposure_event_of(store, definition, exposure)
            return None if event is None else store.add_exposure(event)

        return await asyncio.to_thread(write) if in_thread else write()

    return hook
