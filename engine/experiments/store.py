"""The durable event store: exposures, purchases, opt-outs, rewards and assignment locks in SQLite.

One file, WAL journal, every write in a transaction: a restart loses nothing that was acknowledged.
Event ids are primary keys, so a resent event is a no-op; the same id with different content is a
:class:`~engine.errors.Conflict`. A reward row is keyed by ``(member_id, week)`` and inserted with
``INSERT OR IGNORE`` in the same transaction that saw the challenge complete, which is what makes the
reward exactly-once whatever the order or repetition of events.

Ids are stored as text (``str(member_id)``), the form assignment hashes too. A challenge keeps its
stretch category and a purchase its item's category (both NULL in rows from before categories
counted): the stretch pick is bought by any earning purchase in that category, or by its own item.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import pandas as pd

from engine.errors import Conflict, ExperimentError, StoreUnavailable
from engine.experiments.definition import ExperimentDefinition, LockMemo
from engine.experiments.writers import ExposureBatcher, ThreadWriter

if TYPE_CHECKING:
    from engine.experiments.protocol import ExposureWriter
from engine.experiments.events import (
    ChallengeSnapshot,
    ExposureEvent,
    OptOutEvent,
    Progress,
    PurchaseEvent,
    pick_progress,
    signal_order,
)

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

_CHALLENGE_SQL = (
    "SELECT experiment, arm, item_ids, shown, reward_cost, stretch_category FROM challenges "
    "WHERE member_id = ? AND week = ?"
)
#: The first product of a category bought (earning) in the member's week: what satisfied the stretch.
_CATEGORY_ITEM_SQL = (
    "SELECT item_id FROM purchases WHERE member_id = ? AND week = ? AND earns = 1 AND category = ? "
    "ORDER BY rowid LIMIT 1"
)


#: The columns :meth:`SqliteEventStore.table` returns, per table (every store returns the same).
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


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _ts(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


class SqliteEventStore:
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

    # -- lifecycle ---------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the connection (the WAL is checkpointed into the main file)."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> SqliteEventStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

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

    # -- assignment lock ---------------------------------------------------------------------------
    def ensure_assignment_lock(self, definition: ExperimentDefinition) -> None:
        """Record the definition's assignment fingerprint, or refuse one that changed under the same salt.

        Raises
        ------
        ExperimentError
            Arms or weights differ from those recorded at the first exposure with this salt.
        """
        fingerprint = self._locks.pending(definition)
        if fingerprint is None:
            return
        arms = json.dumps([[a.name, a.policy, a.weight] for a in definition.arms])
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT fingerprint, arms FROM assignment_locks WHERE experiment = ? AND salt = ?",
                (definition.name, definition.salt),
            ).fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO assignment_locks VALUES (?, ?, ?, ?, ?)",
                    (definition.name, definition.salt, fingerprint, arms, _now()),
                )
            elif row[0] != fingerprint:
                raise ExperimentError(
                    f"experiment {definition.name!r}: arms or weights changed after exposures began "
                    f"(recorded {row[1]}, now {arms}); members would move between arms. "
                    "Give the experiment a new salt to start a new assignment."
                )
        self._locks.confirm(definition, fingerprint)

    def lock_status(self, definition: ExperimentDefinition) -> str:
        """Read-only: ``"not started"``, ``"locked, unchanged"`` or ``"CHANGED: ..."`` for ``definition``."""
        with self._lock:
            row = self._conn.execute(
                "SELECT fingerprint FROM assignment_locks WHERE experiment = ? AND salt = ?",
                (definition.name, definition.salt),
            ).fetchone()
        if row is None:
            return "not started"
        if row[0] == definition.assignment_fingerprint():
            return "locked, unchanged"
        return "CHANGED since first exposure: give a new salt"

    # -- writes ------------------------------------------------------------------------------------
    def add_exposure(self, event: ExposureEvent) -> Progress:
        """Store an exposure (idempotent by event id) and the week's challenge; returns the progress."""
        with self._transaction() as conn:
            return self._expose(conn, event)

    def add_exposures(self, events: Sequence[ExposureEvent]) -> list[Progress | Conflict]:
        """Store many exposures in one transaction (one commit); a conflicting one is answered by its error.

        Each event runs under its own savepoint, so a conflict undoes that event only.
        """
        out: list[Progress | Conflict] = []
        with self._transaction() as conn:
            for event in events:
                conn.execute("SAVEPOINT exposure")
                try:
                    out.append(self._expose(conn, event))
                except Conflict as exc:
                    conn.execute("ROLLBACK TO exposure")
                    out.append(exc)
                conn.execute("RELEASE exposure")
        return out

    def _expose(self, conn: sqlite3.Connection, event: ExposureEvent) -> Progress:
        member = str(event.member_id)
        snapshot = event.challenge if event.challenge is not None else event.shadow
        items = None if snapshot is None else json.dumps(list(snapshot.item_ids))
        shown = int(event.challenge is not None)
        cost = 0.0 if snapshot is None else snapshot.reward_cost
        category = None if snapshot is None else snapshot.stretch_category
        inserted = conn.execute(
            "INSERT OR IGNORE INTO exposures VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                event.event_id,
                event.experiment,
                event.salt,
                event.arm,
                member,
                event.week,
                _ts(event.timestamp),
            ),
        ).rowcount
        if not inserted:
            row = conn.execute(
                "SELECT experiment, salt, arm, member_id, week FROM exposures WHERE event_id = ?",
                (event.event_id,),
            ).fetchone()
            if tuple(row) != (event.experiment, event.salt, event.arm, member, event.week):
                raise Conflict(f"exposure {event.event_id!r} was already recorded with other content: {row}")
        current = conn.execute(
            _CHALLENGE_SQL,
            (member, event.week),
        ).fetchone()
        served = (event.experiment, event.arm, items, shown, cost, category)
        if current is None:
            conn.execute(
                "INSERT INTO challenges (member_id, week, experiment, salt, arm, item_ids, shown, "
                "reward_cost, stretch_category) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (member, event.week, event.experiment, event.salt, event.arm, items, shown, cost, category),
            )
        elif tuple(current) != served:
            raise Conflict(
                f"member {member} week {event.week}: already served {tuple(current)}, "
                f"now {served}; a week's challenge must not change"
            )
        if event.served is not None:
            conn.execute("INSERT OR IGNORE INTO served VALUES (?, ?, ?)", (member, event.week, event.served))
        return self._progress(conn, member, event.week)

    def exposure_writer(self, in_thread: bool) -> ExposureWriter:
        """A worker thread per write, or on the loop one transaction per loop turn (group commit)."""
        return ThreadWriter(self) if in_thread else ExposureBatcher(self)

    def served_challenge(self, member_id: int | str, week: int) -> str | None:
        """The answer first served to the member for ``week`` (JSON), if it was recorded."""
        with self._lock:
            row = self._conn.execute(
                "SELECT body FROM served WHERE member_id = ? AND week = ?", (str(member_id), week)
            ).fetchone()
        return None if row is None else str(row[0])

    def add_purchases(self, events: Iterable[PurchaseEvent]) -> list[Progress]:
        """Store purchases (idempotent by event id); returns the progress of every challenge they touch."""
        touched: dict[tuple[str, int], None] = {}
        with self._transaction() as conn:
            for event in events:
                member, item = str(event.member_id), str(event.item_id)
                values = (
                    member,
                    event.week,
                    item,
                    event.quantity,
                    event.sales_value,
                    event.transaction_id,
                    event.source,
                    int(event.earns),
                )
                # The category is the engine's reading of the item, not the event's content: the first
                # copy's stays, and a resend resolved otherwise is the same event (no conflict).
                inserted = conn.execute(
                    "INSERT OR IGNORE INTO purchases (event_id, member_id, week, item_id, quantity, "
                    "sales_value, transaction_id, source, earns, ts, category) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (event.event_id, *values, _ts(event.timestamp), event.category),
                ).rowcount
                if not inserted:
                    row = conn.execute(
                        "SELECT member_id, week, item_id, quantity, sales_value, transaction_id, source, "
                        "earns FROM purchases WHERE event_id = ?",
                        (event.event_id,),
                    ).fetchone()
                    if tuple(row) != values:
                        raise Conflict(
                            f"purchase {event.event_id!r} was already recorded as {tuple(row)}, now {values}"
                        )
                touched[(member, event.week)] = None
            return [self._progress(conn, m, w) for m, w in touched]

    def add_opt_out(self, event: OptOutEvent) -> bool:
        """Store a negative signal (idempotent by event id); returns whether it was new.

        Raises
        ------
        Conflict
            The event id was recorded with other content.
        """
        values = (str(event.member_id), event.week, event.kind)
        # In UTC, fixed width, so that ``ORDER BY ts`` is time order (see :func:`signal_order`).
        when = signal_order(event).split("|", 1)[1] or None
        with self._transaction() as conn:
            inserted = conn.execute(
                "INSERT OR IGNORE INTO opt_outs (event_id, member_id, week, kind, ts) VALUES (?, ?, ?, ?, ?)",
                (event.event_id, *values, when),
            ).rowcount
            if not inserted:
                row = conn.execute(
                    "SELECT member_id, week, kind FROM opt_outs WHERE event_id = ?", (event.event_id,)
                ).fetchone()
                if tuple(row) != values:
                    raise Conflict(
                        f"signal {event.event_id!r} was already recorded as {tuple(row)}, now {values}"
                    )
            return bool(inserted)

    def opted_out(self, member_id: int | str) -> bool:
        """Whether the member's latest opt-out/opt-in signal (week, time, arrival) is an opt-out."""
        with self._lock:
            row = self._conn.execute(
                "SELECT kind FROM opt_outs WHERE member_id = ? AND kind IN ('opt_out', 'opt_in') "
                "ORDER BY week DESC, ts DESC, rowid DESC LIMIT 1",
                (str(member_id),),
            ).fetchone()
        return row is not None and row[0] == "opt_out"

    def signal_counts(self, member_id: int | str) -> dict[str, int]:
        """The member's stored signals per kind (kinds never signalled are left out)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT kind, COUNT(*) FROM opt_outs WHERE member_id = ? GROUP BY kind", (str(member_id),)
            ).fetchall()
        return {str(kind): int(n) for kind, n in rows}

    # -- reads -------------------------------------------------------------------------------------
    def progress(self, member_id: int | str, week: int) -> Progress:
        """The member's challenge progress for ``week`` (an empty one if nothing was served)."""
        with self._lock:
            return self._progress(self._conn, str(member_id), week, issue=False)

    def _progress(self, conn: sqlite3.Connection, member: str, week: int, issue: bool = True) -> Progress:
        row = conn.execute(
            _CHALLENGE_SQL,
            (member, week),
        ).fetchone()
        if row is None:
            return Progress(member_id=member, week=week)
        experiment, arm, items_json, shown, cost, category = row
        if items_json is None or not shown:
            return Progress(member_id=member, week=week, experiment=experiment, arm=arm)
        items: list[str] = json.loads(items_json)
        marks = ",".join("?" * len(items))
        bought = {
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT item_id FROM purchases WHERE member_id = ? AND week = ? AND earns = 1 "
                f"AND item_id IN ({marks})",
                (member, week, *items),
            )
        }
        found = None
        if category is not None:
            hit = conn.execute(_CATEGORY_ITEM_SQL, (member, week, category)).fetchone()
            found = None if hit is None else hit[0]
        picks = pick_progress(items, [i in bought for i in items], category, found)
        completed = all(p.bought for p in picks)
        issued_now = False
        if completed and issue:
            issued_now = bool(
                conn.execute(
                    "INSERT OR IGNORE INTO rewards VALUES (?, ?, ?, ?, ?, ?)",
                    (member, week, experiment, arm, cost, _now()),
                ).rowcount
            )
        issued = conn.execute(
            "SELECT 1 FROM rewards WHERE member_id = ? AND week = ?", (member, week)
        ).fetchone()
        return Progress(
            member_id=member,
            week=week,
            experiment=experiment,
            arm=arm,
            offered=True,
            picks=picks,
            completed=completed,
            reward_issued=issued is not None,
            reward_cost=cost,
            reward_issued_now=issued_now,
        )

    def table(self, name: str) -> pd.DataFrame:
        """One whole table as a DataFrame, columns as in :data:`TABLE_COLUMNS` (analysis filters it)."""
        if name not in TABLE_COLUMNS:
            raise ExperimentError(f"unknown event table {name!r} (known: {sorted(TABLE_COLUMNS)})")
        columns = TABLE_COLUMNS[name]
        with self._lock:
            rows = self._conn.execute(f"SELECT {', '.join(columns)} FROM {name}").fetchall()
        return pd.DataFrame(rows, columns=list(columns))

    def counts(self) -> dict[str, int]:
        """Row count of every table (for reports and restart checks)."""
        tables = ("assignment_locks", "exposures", "challenges", "purchases", "rewards", "opt_outs")
        with self._lock:
            return {t: int(self._conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]) for t in tables}


def snapshot(item_ids: Iterable[object], reward_cost: float) -> ChallengeSnapshot:
    """A :class:`ChallengeSnapshot` from any iterable of item ids."""
    return ChallengeSnapshot(item_ids=tuple(str(i) for i in item_ids), reward_cost=reward_cost)
