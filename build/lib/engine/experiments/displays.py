"""Exposure when shown: the app says a challenge (or the holdout's no-offer screen) was displayed.

A fetch is not a view: the app may fetch a challenge and never show it (the member closed the app,
the screen failed to render). With ``exposure = "displayed"`` in a definition, the analysis counts a
member as exposed only once a display was reported, keeps fetches as a separate count, and reports
the share fetched but never shown per arm (:mod:`engine.experiments.exposure`).

Displays are kept apart from the event store's tables, in a small :class:`DisplayLog` with the same
two backends: a ``displays`` table in the event store's SQLite file, or one Redis hash under the
store's prefix. A display is keyed by experiment, salt, member and week; repeats count up.

::

    log = open_display_log(load_experiments_config().store)
    arm = record_display(log, definition, member_id, week)   # None: the member is not in it
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Protocol

import pandas as pd
import redis

from engine.errors import ExperimentError, StoreUnavailable
from engine.experiments.assignment import assign_arm
from engine.experiments.config import RedisStoreConfig, SqliteStoreConfig
from engine.experiments.definition import ExperimentDefinition

DISPLAY_COLUMNS: tuple[str, ...] = ("experiment", "salt", "member_id", "week", "arm", "displays")
_SEP = "\x1f"  # unit separator: cannot occur in names, salts or canonical member ids


class DisplayLog(Protocol):
    """Where display reports are kept: count per (experiment, salt, member, week, arm)."""

    def record(self, experiment: str, salt: str, member_id: str, week: int, arm: str) -> int:
        """Count one display; returns how many have been reported for that member-week."""
        ...

    def table(self) -> pd.DataFrame:
        """Every member-week displayed, with :data:`DISPLAY_COLUMNS`."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...


class SqliteDisplayLog:
    """Displays in a ``displays`` table (of the event store's SQLite file, or any other)."""

    def __init__(self, path: Path | str, busy_timeout_s: float = 10.0) -> None:
        self._db = sqlite3.connect(str(path), timeout=busy_timeout_s, check_same_thread=False)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS displays (experiment TEXT NOT NULL, salt TEXT NOT NULL, "
            "member_id TEXT NOT NULL, week INTEGER NOT NULL, arm TEXT NOT NULL, displays INTEGER NOT NULL, "
            "PRIMARY KEY (experiment, salt, member_id, week))"
        )
        self._db.commit()

    def record(self, experiment: str, salt: str, member_id: str, week: int, arm: str) -> int:
        """Count one display (see :class:`DisplayLog`)."""
        with self._db:
            row = self._db.execute(
                "INSERT INTO displays VALUES (?, ?, ?, ?, ?, 1) "
                "ON CONFLICT (experiment, salt, member_id, week) "
                "DO UPDATE SET displays = displays + 1 RETURNING displays, arm",
                (experiment, salt, member_id, week, arm),
            ).fetchone()
        if row[1] != arm:
            raise ExperimentError(
                f"member {member_id} week {week} was displayed in arm {row[1]!r}, not {arm!r}"
            )
        return int(row[0])

    def table(self) -> pd.DataFrame:
        """Every member-week displayed."""
        return pd.read_sql_query(f"SELECT {', '.join(DISPLAY_COLUMNS)} FROM displays", self._db)

    def close(self) -> None:
        """Close the database."""
        self._db.close()


class RedisDisplayLog:
    """Displays in one Redis hash ``<prefix>:displays``: field = the member-week's key, value = count."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._r = client
        self._key = f"{prefix}:displays"

    def record(self, experiment: str, salt: str, member_id: str, week: int, arm: str) -> int:
        """Count one display (see :class:`DisplayLog`)."""
        field = _SEP.join((experiment, salt, member_id, str(week), arm))
        try:
            return int(self._r.hincrby(self._key, field, 1))
        except redis.RedisError as exc:
            raise StoreUnavailable(f"display log {self._key}: {type(exc).__name__}") from exc

    def table(self) -> pd.DataFrame:
        """Every member-week displayed."""
        try:
            raw = self._r.hgetall(self._key)
        except redis.RedisError as exc:
            raise StoreUnavailable(f"display log {self._key}: {type(exc).__name__}") from exc
        rows = []
        for field, count in raw.items():
            text = field.decode() if isinstance(field, bytes) else str(field)
            experiment, salt, member, week, arm = text.split(_SEP)
            rows.append((experiment, salt, member, int(week), arm, int(count)))
        return pd.DataFrame(rows, columns=list(DISPLAY_COLUMNS))

    def close(self) -> None:
        """Close the connection."""
        self._r.close()


def open_display_log(config: SqliteStoreConfig | RedisStoreConfig, path: Path | None = None) -> DisplayLog:
    """The display log beside the configured event store; ``path`` forces a SQLite file."""
    if path is not None:
        return SqliteDisplayLog(path, config.busy_timeout_s)
    if isinstance(config, RedisStoreConfig):
        return RedisDisplayLog(redis.Redis.from_url(config.url), config.prefix)
    return SqliteDisplayLog(config.path, config.busy_timeout_s)


def record_display(
    log: DisplayLog, definition: ExperimentDefinition, member_id: str, week: int
) -> str | None:
    """Record that ``member_id``'s challenge for ``week`` was shown; their arm (None: not in it).

    A member of a tier- or namespace-targeted experiment is recorded in the arm the hash gives; the
    analysis keeps only members that were also fetched (exposed), so a display of someone outside the
    population is counted as a display without a fetch, never as an exposure.
    """
    if not definition.covers_week(week):
        return None
    arm = assign_arm(definition, member_id)
    log.record(definition.name, definition.salt, member_id, week, arm)
    return arm
