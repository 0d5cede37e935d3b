"""The durable event store: exposures, purchases, opt-outs, rewards and assignment locks in SQLite.

One file, WAL journal, every write in a transaction: a restart loses nothing that was acknowledged.
Event ids are primary keys, so a resent event is a no-op; the same id with different content is a
:class:`~engine.errors.Conflict`. A reward row is keyed by ``(member_id, week)`` and inserted with
``INSERT OR IGNORE`` in the same transaction that saw the challenge complete, which is what makes the
reward exactly-once whatever the order or repetition of events.

Ids are stored as text (``str(member_id)``), the form assignment hashes too. A challenge keeps its
stretch category and a purchase its item's category (both NULL in rows from before categories
counted): the stretch pick is bought by any earning purchase in that category, or by its own item.

:class:`SqliteEventStore` composes three parts, one concept each:

    sqlite_schema   schema, migrations of older files, the connection and its transactions
    sqlite_reads    progress, served answers, member signals, tables and counts
    sqlite_writes   assignment locks, exposures, purchases and member signals
"""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType
from typing import TYPE_CHECKING

from engine.experiments.events import ChallengeSnapshot
from engine.experiments.sqlite_schema import TABLE_COLUMNS
from engine.experiments.sqlite_writes import SqliteWrites
from engine.experiments.writers import ExposureBatcher, ThreadWriter

if TYPE_CHECKING:
    from engine.experiments.protocol import ExposureWriter

__all__ = ["TABLE_COLUMNS", "SqliteEventStore", "snapshot"]


class SqliteEventStore(SqliteWrites):
    """Experiment events in one SQLite file; safe to share between threads of one process.

    Parameters
    ----------
    path
        The database file (created with its folder); ``":memory:"`` for a throw-away store.
    synchronous
        SQLite's ``synchronous`` pragma: ``FULL`` survives power loss, ``NORMAL`` only process crashes.
    busy_timeout_s
        How long to wait for another process's write lock.
    """

    def __enter__(self) -> SqliteEventStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def exposure_writer(self, in_thread: bool) -> ExposureWriter:
        """A worker thread per write, or on the loop one transaction per loop turn (group commit)."""
        return ThreadWriter(self) if in_thread else ExposureBatcher(self)


def snapshot(item_ids: Iterable[object], reward_cost: float) -> ChallengeSnapshot:
    """A :class:`ChallengeSnapshot` from any iterable of item ids."""
    return ChallengeSnapshot(item_ids=tuple(str(i) for i in item_ids), reward_cost=reward_cost)
