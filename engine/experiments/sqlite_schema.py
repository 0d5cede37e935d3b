"""The SQLite event store's file: schema, migrations of older files, the connection and its transactions.

One file, WAL journal, every write in a transaction (``BEGIN IMMEDIATE``): a restart loses nothing that
was acknowledged. A file written before a column existed gets it on open (:data:`_ADDED_COLUMNS`, added
at the end of its table). :data:`TABLE_COLUMNS` is the shape every event store's ``table`` returns.

:class:`SqliteConnection` is the base the read side (:mod:`engine.experiments.sqlite_reads`) and the
write side (:mod:`engine.experiments.sqlite_writes`) build on;
:class:`~engine.experiments.store.SqliteEventStore` composes them.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from engine.errors import StoreUnavailable
from engine.experiments.definition import LockMemo

_SCHEMA = """
CREATE TABLE IF NOT EXISTS assignment_locks (
    experiment TEXT NOT NULL, salt TEXT NOT NULL, fingerprint TEXT NOT NULL, arms TEXT NOT NULL,
    created_at TEXT NOT NULL, PRIMARY KEY (experiment, salt));
CREATE TABLE IF NOT EXISTS exposures (
    event_id TEXT PRIMARY KEY, experiment TEXT NOT NULL, salt TEXT NOT NULL, arm TEXT NOT NULL,
    member_id TEXT NOT NULL, week INTEGER NOT NULL, ts TEXT);
CREATE INDEX IF NOT EXISTS exposures_experiment ON exposures (experiment, salt);
CREATE TABLE IF NOT EXISTS challenges (
    member_id TEXT NOT NULL, week INTEGER NOT NULL, experiment TEXT NOT NULL, salt TEXT NOT NULL,
    arm TEXT NOT NULL, item_ids TEXT, shown INTEGER NOT NULL, reward_cost REAL NOT NULL,
    stretch_category TEXT, PRIMARY KEY (member_id, week));
CREATE TABLE IF NOT EXISTS purchases (
    event_id TEXT PRIMARY KEY, member_id TEXT NOT NULL, week INTEGER NOT NULL, item_id TEXT NOT NULL,
    quantity REAL NOT NULL, sales_value REAL NOT NULL, ts TEXT, transaction_id TEXT, source TEXT,
    earns INTEGER NOT NULL DEFAULT 1, category TEXT);
CREATE INDEX IF NOT EXISTS purchases_member_week ON purchases (member_id, week);
CREATE TABLE IF NOT EXISTS rewards (
    member_id TEXT NOT NULL, week INTEGER NOT NULL, experiment TEXT NOT NULL, arm TEXT NOT NULL,
    reward_cost REAL NOT NULL, issued_at TEXT NOT NULL, PRIMARY KEY (member_id, week));
CREATE TABLE IF NOT EXISTS served (
    member_id TEXT NOT NULL, week INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (member_id, week));
CREATE TABLE IF NOT EXISTS opt_outs (
    event_id TEXT PRIMARY KEY, member_id TEXT NOT NULL, week INTEGER NOT NULL, ts TEXT,
    kind TEXT NOT NULL DEFAULT 'opt_out');
CREATE INDEX IF NOT EXISTS opt_outs_member ON opt_outs (member_id);
"""

#: Columns added after the first release: (table, column, declaration) added to older files on open.
_ADDED_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("purchases", "transaction_id", "TEXT"),
    ("purchases", "source", "TEXT"),
    ("purchases", "earns", "INTEGER NOT NULL DEFAULT 1"),
    ("opt_outs", "kind", "TEXT NOT NULL DEFAULT 'opt_out'"),
    ("challenges", "stretch_category", "TEXT"),
    ("purchases", "category", "TEXT"),
)


#: The columns every event store's ``table`` returns, per table (the SQLite store selects them, the
#: Redis store builds its frames to match).
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "exposures": ("event_id", "experiment", "salt", "arm", "member_id", "week"),
    "challenges": (
        "member_id",
        "week",
        "experiment",
        "salt",
        "arm",
        "item_ids",
        "shown",
        "reward_cost",
        "stretch_category",
    ),
    "purchases": ("event_id", "member_id", "week", "item_id", "quantity", "sales_value"),
    "rewards": ("member_id", "week", "experiment", "arm", "reward_cost"),
    "opt_outs": ("event_id", "member_id", "week", "kind"),
}


def now() -> str:
    """The current time in UTC, ISO 8601 (as stored)."""
    return datetime.now(UTC).isoformat()


def ts(value: datetime | None) -> str | None:
    """An event's timestamp as stored (ISO 8601; None when the event has none)."""
    return None if value is None else value.isoformat()


class SqliteConnection:
    """One SQLite file, opened with its schema up to date; safe to share between threads of one process.

    Parameters
    ----------
    path
        The database file (created with its folder); ``":memory:"`` for a throw-away store.
    synchronous
        SQLite's ``synchronous`` pragma: ``FULL`` survives power loss, ``NORMAL`` only process crashes.
    busy_timeout_s
        How long to wait for another process's write lock.
    """

    def __init__(self, path: Path | str, synchronous: str = "FULL", busy_timeout_s: float = 10.0) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = sqlite3.connect(
                self.path, timeout=busy_timeout_s, check_same_thread=False, isolation_level=None
            )
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute(f"PRAGMA synchronous={'FULL' if synchronous == 'FULL' else 'NORMAL'}")
            self._conn.executescript(_SCHEMA)
            self._add_columns()
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot open the experiment event store {self.path}: {exc}") from exc
        self._lock = threading.RLock()
        self._locks = LockMemo()

    def _add_columns(self) -> None:
        """Bring a file written before :data:`_ADDED_COLUMNS` up to date (new columns end each table)."""
        for table, column, declaration in _ADDED_COLUMNS:
            present = {row[1] for row in self._conn.execute(f"PRAGMA table_info({table})")}
            if column not in present:
                self._conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")

    def close(self) -> None:
        """Close the connection (the WAL is checkpointed into the main file)."""
        with self._lock:
            self._conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"experiment event store {self.path}: {exc}") from exc
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")
