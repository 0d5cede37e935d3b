"""Experiments in the serving process: arms, exposures, purchase events and challenge progress.

Configured by the optional ``[experiments]`` section of ``configs/serve.toml``; without it the service
has no arms, records no exposures and answers no progress. With it, :class:`ExperimentRuntime` gives
the issuer its three hooks:

- ``assign(member_id, week)``: the experiment running that week (at most one) and the member's arm, from
  the deterministic salted hash of :func:`engine.experiments.assignment.assign_arm` (pure, no I/O);
- ``record(exposure)``: each new issuance is recorded in the experiment event store (SQLite by default,
  see ``configs/experiments.toml``) before the answer goes out; the issuer calls it only for the writer
  that won the issue-once race, so an exposure is recorded once per member and week. With
  ``exposure_writes = "inline"`` the writes of concurrent requests are group-committed: SQLite one
  transaction per loop turn, Redis one script call each, pipelined on a lean async connection (each
  store's :meth:`~engine.experiments.protocol.EventStore.exposure_writer`); each request still waits for
  its own write, so no answered exposure can be lost, and shutdown flushes anything queued;
- ``progress_json(member_id, week, payload)``: the member's progress, from an in-process cache kept
  current by exposures and purchase events, so repeat reads do not touch the event store. A miss (after
  a restart) reads the store once; if that finds no exposure for a stamped challenge (its write was
  lost), the exposure is recorded from the stored challenge then (same event id, so never twice).

Purchase events (``POST /v1/events/purchases``), each with its item's category from the catalog
(:mod:`engine.serve.purchase_categories`: the stretch pick is a category), go to
:func:`engine.experiments.service.ingest_purchases`;
the store issues each completed challenge's reward exactly once whatever the order or repetition. When
the purchases came first, the exposure write issues it: the challenge's first answer then says
``reward_issued_now: true`` (later answers and the cache say false). Negative signals
(``POST /v1/events/signals``) go to the event store too; ``opted_out(member_id)`` tells the issuer a
member opted out (an explicit no-offer, reason code ``opted_out``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Sequence
from pathlib import Path

import orjson

from engine.errors import ConfigError, Conflict, ExperimentError
from engine.experiments.assignment import assign_arm
from engine.experiments.config import load_experiments_config, open_store
from engine.experiments.definition import ExperimentDefinition, check_overlaps, load_definition
from engine.experiments.events import OptOutEvent, Progress, PurchaseEvent
from engine.experiments.hooks import exposure_event_id, make_exposure_hook
from engine.experiments.protocol import EventStore
from engine.experiments.service import ingest_purchases, progress_for, record_exposure
from engine.rules.negative import MemberSignals
from engine.serve.experiment_config import (
    DEFAULT_CLOCK_SKEW_S,
    DEFAULT_LATE_EVENT_GRACE_S,
    ExperimentsServeConfig,
)
from engine.serve.issuance import ArmChoice, Exposure
from engine.serve.purchases import PurchaseWindow

log = logging.getLogger(__name__)

NULL = b"null"


def _load(paths: Sequence[Path]) -> list[ExperimentDefinition]:
    definitions = [load_definition(p) for p in paths]
    check_overlaps(definitions)
    # Serving has one population: two experiments in the same week would both claim every member.
    for i, a in enumerate(definitions):
        for b in definitions[i + 1 :]:
            if a.start_week <= b.end_week and b.start_week <= a.end_week:
                raise ConfigError(
                    f"[experiments] definitions: {a.name!r} (weeks {a.start_week}-{a.end_week}) and "
                    f"{b.name!r} (weeks {b.start_week}-{b.end_week}) overlap; serve one per week"
                )
    return definitions


def progress_body(progress: Progress) -> bytes:
    """The ``progress`` JSON of a challenge answer."""
    return progress.model_dump_json().encode()


class ExperimentRuntime:
    """The serving side of the experiment loop; see the module docstring.

    Parameters
    ----------
    definitions
        The experiments to run (weeks must not overlap).
    store
        The experiment event store (the runtime closes it).
    cache_entries, ttl_s
        Progress cache size; entries expire after ``ttl_s`` (None: only when evicted, right for one
        process, which sees every event; with several workers a TTL bounds how stale another worker's
        view of progress can be).
    max_events
        Most purchase events one ``POST /v1/events/purchases`` call may carry.
    late_event_grace_s, clock_skew_s
        How long after its week a purchase still counts, and how far ahead of our clock it may be.
    exposure_in_thread
        Write exposures in a worker thread (True) or on the event loop (see ``exposure_writes``), in the
        way the store's :meth:`~engine.experiments.protocol.EventStore.exposure_writer` says.
    """

    def __init__(
        self,
        definitions: Sequence[ExperimentDefinition],
        store: EventStore,
        *,
        cache_entries: int,
        ttl_s: float | None = None,
        max_events: int,
        late_event_grace_s: float = DEFAULT_LATE_EVENT_GRACE_S,
        clock_skew_s: float = DEFAULT_CLOCK_SKEW_S,
        exposure_in_thread: bool = True,
    ) -> None:
        self.max_events = max_events
        self.purchase_window = PurchaseWindow(
            dt.timedelta(seconds=late_event_grace_s), dt.timedelta(seconds=clock_skew_s)
        )
        self.definitions = {d.name: d for d in definitions}
        self.store = store
        # Each store brings its own writer: a worker thread per write, or on the loop its own way of
        # batching the writes of concurrent first requests (each request still waits for its own write).
        self._writer = store.exposure_writer(in_thread=exposure_in_thread)
        self._hooks = {d.name: make_exposure_hook(store, d, writer=self._writer.write) for d in definitions}
        self._cache: dict[tuple[str, int], tuple[bytes, float]] = {}
        # Progress whose write just issued the reward, for the one answer that reports it (then gone).
        self._issued_now: dict[tuple[str, int], bytes] = {}
        self._cache_entries = cache_entries
        self._ttl_s = ttl_s

    @classmethod
    def from_config(cls, config: ExperimentsServeConfig) -> ExperimentRuntime:
        """Load and check the definitions; open ``config.store`` (default: the experiments file's)."""
        definitions = _load(config.definitions)
        store_config = config.store or load_experiments_config(config.config_path).store
        store = open_store(store_config)
        for definition in definitions:
            # Refuse at start-up, not on the first member's request, arms or weights that changed
            # under the salt already used for exposures.
            status = store.lock_status(definition)
            if status.startswith("CHANGED"):
                store.close()
                raise ExperimentError(
                    f"experiment {definition.name!r} in {store.path}: {status} "
                    "(arms or weights differ from those of the first exposure)"
                )
        return cls(
            definitions,
            store,
            cache_entries=config.progress_cache_entries,
            ttl_s=config.progress_ttl_s,
            max_events=config.max_events,
            late_event_grace_s=config.late_event_grace_s,
            clock_skew_s=config.clock_skew_s,
            exposure_in_thread=config.exposure_writes == "thread",
        )

    def active(self, week: int) -> ExperimentDefinition | None:
        """The experiment running in ``week``, if any."""
        for definition in self.definitions.values():
            if definition.covers_week(week):
                return definition
        return None

    def assign(self, member_id: str, week: int) -> ArmChoice | None:
        """The member's experiment, arm and policy in ``week`` (None outside every experiment)."""
        definition = self.active(week)
        if definition is None:
            return None
        arm = assign_arm(definition, member_id)
        return ArmChoice(definition.name, arm, definition.arm(arm).policy)

    async def record(self, exposure: Exposure) -> None:
        """Record a new issuance's exposure durably and remember the member's progress."""
        if exposure.experiment is None:
            return
        try:
            progress = await self._hooks[exposure.experiment](exposure)
        except Conflict as exc:
            # Only if the online store lost the week's challenge and it could not be recalled (an exposure
            # recorded without the answer served) and another was issued: the event store keeps the
            # first one, which progress and rewards follow.
            log.error("exposure refused: %s", exc.message, extra={"member_id": exposure.member_id})
            return
        if progress is not None:
            self._remember(progress)
            if progress.reward_issued_now:
                # The purchases came before the challenge: this issuance issued the reward. The
                # winner's own answer (which reads progress next, on this loop) reports it once.
                if len(self._issued_now) >= self._cache_entries:
                    self._issued_now.clear()  # only answers that never came back to read theirs
                self._issued_now[(progress.member_id, progress.week)] = progress_body(progress)

    async def progress_json(self, member_id: str, week: int, payload: bytes) -> bytes:
        """The ``progress`` field of the member's answer for ``week`` (``null`` outside experiments)."""
        definition = self.active(week)
        if definition is None:
            return NULL
        issued_now = self._issued_now.pop((member_id, week), None)
        if issued_now is not None:
            return issued_now
        cached = self._cached(member_id, week)
        if cached is not None:
            return cached
        progress = await asyncio.to_thread(progress_for, self.store, member_id, week)
        if progress.arm is None:
            repaired = await self._repair(definition, member_id, week, payload)
            if repaired is not None:
                self._remember(repaired)
                return progress_body(repaired)  # says reward_issued_now if the repair issued it
        return self._remember(progress)

    async def recall(self, member_id: str, week: int) -> bytes | None:
        """The answer first served to the member for ``week``, as the event store recorded it.

        Only weeks an experiment covers have one; read on the event loop like exposure writes are
        (a thread for a store that may wait on the disk).
        """
        if self.active(week) is None:
            return None
        body = await self._writer.served(member_id, week)
        return None if body is None else body.encode()

    async def progress(self, member_id: str, week: int) -> bytes:
        """The member's progress for ``week`` (cached like :meth:`progress_json`)."""
        cached = self._cached(member_id, week)
        if cached is not None:
            return cached
        return self._remember(await asyncio.to_thread(progress_for, self.store, member_id, week))

    async def ingest(self, events: Sequence[PurchaseEvent]) -> list[Progress]:
        """Store purchases in one transaction; returns (and caches) each touched member-week's progress."""
        touched = await asyncio.to_thread(ingest_purchases, self.store, events)
        for progress in touched:
            self._remember(progress)
        return touched

    async def record_signals(self, events: Sequence[OptOutEvent]) -> int:
        """Store negative signals (each idempotent by event id); returns how many were new."""

        def write() -> int:
            return sum(self.store.add_opt_out(event) for event in events)

        return await asyncio.to_thread(write)

    async def opted_out(self, member_id: str) -> bool:
        """Whether the member opted out of offers (read from the event store)."""
        return await asyncio.to_thread(self.store.opted_out, member_id)

    async def member_signals(self, member_id: str) -> MemberSignals:
        """The member's signal history as the rules read it (offers received are added by the issuer)."""

        def read() -> MemberSignals:
            return MemberSignals(self.store.signal_counts(member_id), self.store.opted_out(member_id))

        return await asyncio.to_thread(read)

    async def aclose(self) -> None:
        """Write any exposure still queued, close the writer's connection, then the event store."""
        await self._writer.aclose()
        self.store.close()

    def _cached(self, member_id: str, week: int) -> bytes | None:
        hit = self._cache.get((member_id, week))
        if hit is None:
            return None
        body, expires = hit
        if expires and time.monotonic() > expires:
            del self._cache[(member_id, week)]
            return None
        return body

    def _remember(self, progress: Progress) -> bytes:
        # Cached answers are repeats: only the answer of the write that issued the reward says "now".
        body = progress_body(progress.model_copy(update={"reward_issued_now": False}))
        key = (progress.member_id, progress.week)
        self._cache.pop(key, None)
        if len(self._cache) >= self._cache_entries:
            del self._cache[next(iter(self._cache))]
        self._cache[key] = (body, time.monotonic() + self._ttl_s if self._ttl_s else 0.0)
        return body

    async def _repair(
        self, definition: ExperimentDefinition, member_id: str, week: int, payload: bytes
    ) -> Progress | None:
        """Record the exposure of a stamped answer the event store does not know (its write was lost)."""
        body = orjson.loads(payload)
        if body.get("experiment") != definition.name or body.get("arm") is None:
            return None  # issued before the experiment was configured: not part of it
        shown = body if body.get("status") == "issued" else None
        try:
            return await asyncio.to_thread(
                record_exposure,
                self.store,
                definition,
                body["arm"],
                member_id,
                week,
                shown,
                event_id=exposure_event_id(definition, member_id, week),
                served=payload.decode(),
            )
        except (Conflict, ExperimentError) as exc:
            log.error(
                "exposure repair refused: %s", exc.message, extra={"member_id": member_id, "week": week}
            )
            return None
