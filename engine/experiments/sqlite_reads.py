"""The read side of the SQLite event store: progress, served answers, member signals, tables and counts.

Progress is derived from the events stored: a pick is bought by an earning purchase of its item in the
member's week, the stretch pick also by the first earning purchase of its category. Inside a write's
transaction the same derivation issues the week's reward once (``INSERT OR IGNORE`` on
``(member_id, week)``), which makes the reward exactly-once whatever the order or repetition of events.
"""

from __future__ import annotations

import json
import sqlite3

import pandas as pd

from engine.errors import ExperimentError
from engine.experiments.definition import ExperimentDefinition
from engine.experiments.events import Progress, pick_progress
from engine.experiments.sqlite_schema import TABLE_COLUMNS, SqliteConnection, now

#: The week's challenge of a member, as progress and the exposure check read it.
CHALLENGE_SQL = (
    "SELECT experiment, arm, item_ids, shown, reward_cost, stretch_category FROM challenges "
    "WHERE member_id = ? AND week = ?"
)
#: The first product of a category bought (earning) in the member's week: what satisfied the stretch.
_CATEGORY_ITEM_SQL = (
    "SELECT item_id FROM purchases WHERE member_id = ? AND week = ? AND earns = 1 AND category = ? "
    "ORDER BY rowid LIMIT 1"
)


class SqliteReads(SqliteConnection):
    """Reads of the SQLite event store (see :class:`~engine.experiments.store.SqliteEventStore`)."""

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

    def served_challenge(self, member_id: int | str, week: int) -> str | None:
        """The answer first served to the member for ``week`` (JSON), if it was recorded."""
        with self._lock:
            row = self._conn.execute(
                "SELECT body FROM served WHERE member_id = ? AND week = ?", (str(member_id), week)
            ).fetchone()
        return None if row is None else str(row[0])

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

    def progress(self, member_id: int | str, week: int) -> Progress:
        """The member's challenge progress for ``week`` (an empty one if nothing was served)."""
        with self._lock:
            return self._progress(self._conn, str(member_id), week, issue=False)

    def _progress(self, conn: sqlite3.Connection, member: str, week: int, issue: bool = True) -> Progress:
        row = conn.execute(
            CHALLENGE_SQL,
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
                    (member, week, experiment, arm, cost, now()),
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
