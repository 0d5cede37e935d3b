"""The write side of the SQLite event store: assignment locks, exposures, purchases and member signals.

Every write is one transaction. Event ids are primary keys, so a resent event is a no-op; the same id
with different content is a :class:`~engine.errors.Conflict`. An exposure also stores the week's
challenge (which must never change) and the answer first served; a batch of exposures is one commit with
a savepoint per event, so a conflict undoes that event only.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence

from engine.errors import Conflict, ExperimentError
from engine.experiments.definition import ExperimentDefinition
from engine.experiments.events import ExposureEvent, OptOutEvent, Progress, PurchaseEvent, signal_order
from engine.experiments.sqlite_reads import CHALLENGE_SQL, SqliteReads
from engine.experiments.sqlite_schema import now, ts


class SqliteWrites(SqliteReads):
    """Writes of the SQLite event store (see :class:`~engine.experiments.store.SqliteEventStore`)."""

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
                    (definition.name, definition.salt, fingerprint, arms, now()),
                )
            elif row[0] != fingerprint:
                raise ExperimentError(
                    f"experiment {definition.name!r}: arms or weights changed after exposures began "
                    f"(recorded {row[1]}, now {arms}); members would move between arms. "
                    "Give the experiment a new salt to start a new assignment."
                )
        self._locks.confirm(definition, fingerprint)

    # -- exposures ---------------------------------------------------------------------------------
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
                ts(event.timestamp),
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
            CHALLENGE_SQL,
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

    # -- purchases and signals ---------------------------------------------------------------------
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
                    (event.event_id, *values, ts(event.timestamp), event.category),
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
