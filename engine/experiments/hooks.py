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
``experiment`` (an exposure of another experiment is ignored, so several hooks can listen side by side),
``shadow`` (holdout only: the challenge the member would have had) and ``payload`` (the exact answer
served, kept so that a challenge the online store lost can be served again unchanged).

Exposure event ids are derived from (experiment, salt, member, week), so recording the same serving
twice (a retry, or a repair after a lost write) is a no-op rather than a second exposure.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from engine.errors import Conflict, ExperimentError
from engine.experiments.assignment import assign_arm
from engine.experiments.definition import ExperimentDefinition
from engine.experiments.events import ExposureEvent, Progress
from engine.experiments.protocol import EventStore
from engine.experiments.service import exposure_event


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


def _served(exposure: object) -> str | None:
    payload = getattr(exposure, "payload", None)
    return payload.decode() if isinstance(payload, bytes) else payload


def exposure_event_of(
    store: EventStore, definition: ExperimentDefinition, exposure: object
) -> ExposureEvent | None:
    """The checked :class:`ExposureEvent` of a duck-typed exposure; None if ``definition`` ignores it.

    Raises
    ------
    ExperimentError
        An issued exposure without picks, or any refusal of
        :func:`~engine.experiments.service.exposure_event`.
    """
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
    return exposure_event(
        store,
        definition,
        arm,
        member_id,
        week,
        challenge,
        shadow=getattr(exposure, "shadow", None),
        event_id=exposure_event_id(definition, member_id, week),
        served=_served(exposure),
    )


class ExposureBatcher:
    """Group commit of exposures on the event loop: many waiting requests, one store write.

    :meth:`write` queues the event and waits; the first event queued schedules a flush for the loop's
    next turn, by which time the other requests ready in this turn have queued theirs, and the flush
    writes them all with one :meth:`EventStore.add_exposures` (one SQLite transaction, one Redis round
    trip). Each caller returns only after its own exposure is written, so there is no window in which
    an answered exposure can be lost; :meth:`flush` writes what is queued at once (at shutdown).
    The write runs on the loop: right for short writes (SQLite ``synchronous = "NORMAL"``, Redis).
    """

    def __init__(self, store: EventStore) -> None:
        self._store = store
        self._pending: list[tuple[ExposureEvent, asyncio.Future[Progress]]] = []

    async def write(self, event: ExposureEvent) -> Progress:
        """Write ``event`` with the others of this loop turn; its progress, or its Conflict raised."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Progress] = loop.create_future()
        self._pending.append((event, future))
        if len(self._pending) == 1:
            loop.call_soon(self.flush)
        return await future

    def flush(self) -> None:
        """Write every queued exposure now and wake their callers."""
        batch, self._pending = self._pending, []
        if not batch:
            return
        answers: list[Progress | Conflict | Exception]
        try:
            answers = list(self._store.add_exposures([e for e, _ in batch]))
        except Exception as exc:
            # The store failed: every waiting caller hears why (as with a write of its own).
            answers = [exc] * len(batch)
        for (_, future), answer in zip(batch, answers, strict=True):
            if future.done():
                continue  # the request was cancelled; its exposure is written all the same
            if isinstance(answer, Exception):
                future.set_exception(answer)
            else:
                future.set_result(answer)


def make_exposure_hook(
    store: EventStore,
    definition: ExperimentDefinition,
    *,
    in_thread: bool = True,
    writer: Callable[[ExposureEvent], Awaitable[Progress]] | None = None,
) -> Callable[[object], Awaitable[Progress | None]]:
    """An async hook that records each exposure in ``store``; returns the member's progress for the week.

    ``in_thread`` runs the write in a worker thread (right when a write waits for a disk flush);
    False writes on the event loop, which costs less CPU than the thread hand-off when writes are
    short (SQLite with ``synchronous = "NORMAL"``). ``writer`` (async, e.g. :meth:`ExposureBatcher.write`,
    which group-commits the exposures of concurrent requests) replaces both. An exposure the hook
    ignores returns None.
    """

    async def hook(exposure: object) -> Progress | None:
        if writer is not None:
            event = exposure_event_of(store, definition, exposure)
            return None if event is None else await writer(event)

        def write() -> Progress | None:
            event = exposure_event_of(store, definition, exposure)
            return None if event is None else store.add_exposure(event)

        return await asyncio.to_thread(write) if in_thread else write()

    return hook
