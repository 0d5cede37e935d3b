"""Exposure writers: how the serving layer writes exposures to an event store without blocking requests.

Each event store says which writer suits it (:meth:`~engine.experiments.protocol.EventStore.exposure_writer`):

    ThreadWriter     any store: each write in a worker thread (right when a commit waits for the disk)
    ExposureBatcher  on the event loop, the exposures of one loop turn in one store write (group commit;
                     SQLite with ``synchronous = "NORMAL"``)
    WireExposures    the Redis store, on a lean async connection (:mod:`engine.experiments.redis_writer`)

Every writer also reads the answer first served to a member (to serve a lost online record again).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from engine.errors import Conflict
from engine.experiments.events import ExposureEvent, Progress

if TYPE_CHECKING:
    from engine.experiments.protocol import EventStore


class ThreadWriter:
    """Each write and read in a worker thread."""

    def __init__(self, store: EventStore) -> None:
        self._store = store

    async def write(self, event: ExposureEvent) -> Progress:
        """Store ``event``; its progress, or its :class:`~engine.errors.Conflict` raised."""
        return await asyncio.to_thread(self._store.add_exposure, event)

    async def served(self, member_id: str, week: int) -> str | None:
        """The answer first served to the member for ``week``."""
        return await asyncio.to_thread(self._store.served_challenge, member_id, week)

    async def aclose(self) -> None:
        """Nothing queued, nothing to close."""


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

    async def served(self, member_id: str, week: int) -> str | None:
        """The answer first served, read on the loop (short reads, like the writes)."""
        return self._store.served_challenge(member_id, week)

    async def aclose(self) -> None:
        """Write anything still queued."""
        self.flush()

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
