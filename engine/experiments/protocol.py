"""What every experiment event store offers: the SQLite default and the Redis streams option.

Both keep each event id once (a resend is a no-op, other content under the same id is a
:class:`~engine.errors.Conflict`), derive progress from the set of events seen, and issue a reward
exactly once per member and week. ``tests/experiments/test_store.py`` runs one contract against both.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

import pandas as pd

from engine.errors import Conflict
from engine.experiments.definition import ExperimentDefinition
from engine.experiments.events import ExposureEvent, OptOutEvent, Progress, PurchaseEvent


class ExposureWriter(Protocol):
    """How serving writes exposures to a store (and reads the answers served) from the event loop."""

    async def write(self, event: ExposureEvent) -> Progress:
        """Store ``event``; its progress, or its :class:`~engine.errors.Conflict` raised."""
        ...

    async def served(self, member_id: str, week: int) -> str | None:
        """The answer first served to the member for ``week`` (JSON), if it was recorded."""
        ...

    async def aclose(self) -> None:
        """Write anything queued and release connections."""
        ...


class EventStore(Protocol):
    """Durable storage of exposures, purchases, opt-outs, rewards and assignment locks."""

    @property
    def path(self) -> str:
        """Where the events live (a file path or a Redis URL and prefix), for reports."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...

    def ensure_assignment_lock(self, definition: ExperimentDefinition) -> None:
        """Record the assignment fingerprint, or raise ExperimentError if it changed under the same salt."""
        ...

    def lock_status(self, definition: ExperimentDefinition) -> str:
        """Read-only view of the lock: not started, locked unchanged, or changed."""
        ...

    def add_exposure(self, event: ExposureEvent) -> Progress:
        """Store an exposure and the week's challenge; returns the progress."""
        ...

    def add_exposures(self, events: Sequence[ExposureEvent]) -> list[Progress | Conflict]:
        """Store many exposures in one write (group commit); each answer is its progress or its Conflict.

        An event that conflicts is left out and answered by its :class:`~engine.errors.Conflict`; the
        others are written. A failure of the store itself raises for the whole batch.
        """
        ...

    def add_purchases(self, events: Iterable[PurchaseEvent]) -> list[Progress]:
        """Store purchases; returns the progress of each member-week touched."""
        ...

    def exposure_writer(self, in_thread: bool) -> ExposureWriter:
        """The writer serving uses for this store: in a worker thread, or its own way on the event loop."""
        ...

    def add_opt_out(self, event: OptOutEvent) -> bool:
        """Store a negative signal (idempotent by event id); returns whether it was new."""
        ...

    def opted_out(self, member_id: int | str) -> bool:
        """Whether the member has opted out of offers (an ``opt_out`` signal is stored)."""
        ...

    def signal_counts(self, member_id: int | str) -> dict[str, int]:
        """The member's stored signals per kind (kinds never signalled are left out)."""
        ...

    def served_challenge(self, member_id: int | str, week: int) -> str | None:
        """The answer first served to the member for ``week`` (the API's JSON), if it was recorded."""
        ...

    def progress(self, member_id: int | str, week: int) -> Progress:
        """The member's challenge progress for the week."""
        ...

    def table(self, name: str) -> pd.DataFrame:
        """A whole table with the columns of ``engine.experiments.store.TABLE_COLUMNS``."""
        ...

    def counts(self) -> dict[str, int]:
        """Rows per table."""
        ...
