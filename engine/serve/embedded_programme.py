"""The embedded store's :class:`~engine.serve.programme_store.ProgrammeStore` (restored tiers, choices).

A mixin of :class:`~engine.serve.embedded.EmbeddedStore`, which owns the connection, the lock and the
cache of recent answers; kept apart so that each file holds one concept.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from contextlib import AbstractContextManager

from engine.errors import StoreUnavailable
from engine.serve.embedded_sql import ISSUED
from engine.serve.programme_store import ChoiceResult

SCHEMA = """
CREATE TABLE IF NOT EXISTS restorations (
    member_id TEXT PRIMARY KEY, tier TEXT NOT NULL, until_week INTEGER NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS choices (
    week INTEGER NOT NULL, member_id TEXT NOT NULL, option TEXT NOT NULL, PRIMARY KEY (week, member_id));
"""
_RESTORE = """
INSERT INTO restorations VALUES (?, ?, ?, ?) ON CONFLICT (member_id) DO UPDATE
SET tier = excluded.tier, until_week = excluded.until_week, expires_at = excluded.expires_at
WHERE excluded.until_week > restorations.until_week OR restorations.expires_at <= ?
"""


class EmbeddedProgramme:
    """Restored tiers and choices in the embedded store's SQLite file."""

    _db: sqlite3.Connection
    _recent: dict[tuple[int, str], tuple[bytes, float]]
    _write: Callable[[], AbstractContextManager[sqlite3.Connection]]
    _failed: Callable[[sqlite3.Error, str], StoreUnavailable]
    _read: Callable[[str, tuple[object, ...], str], bytes | None]

    async def restore_tier(self, member_id: str, tier: str, until_week: int, ttl_s: int) -> bool:
        """Record the restoration unless one holding as long is there."""
        now = time.time()
        try:
            with self._write() as db:
                return db.execute(_RESTORE, (member_id, tier, until_week, now + ttl_s, now)).rowcount > 0
        except sqlite3.Error as exc:
            raise self._failed(exc, "restore tier") from exc

    async def restored_tier(self, member_id: str) -> tuple[str, int] | None:
        """The member's restoration, if one is recorded and not expired."""
        sql = (
            "SELECT CAST(tier || '|' || until_week AS BLOB) FROM restorations "
            "WHERE member_id = ? AND expires_at > ?"
        )
        raw = self._read(sql, (member_id, time.time()), "read")
        if raw is None:
            return None
        tier, until = raw.decode().split("|")
        return tier, int(until)

    async def choose_once(
        self, week: int, member_id: str, option: str, payload: bytes, release: float
    ) -> ChoiceResult:
        """Set-once pick, the answer replaced and the budget released, in one transaction."""
        now = time.time()
        try:
            with self._write() as db:
                issued = db.execute(ISSUED, (week, member_id, now)).fetchone()
                if issued is None:
                    return ChoiceResult(None, None, won=False, issued=False)
                row = db.execute(
                    "SELECT option FROM choices WHERE week = ? AND member_id = ?", (week, member_id)
                ).fetchone()
                if row is not None:
                    return ChoiceResult(str(row[0]), bytes(issued[0]), won=False)
                db.execute("INSERT INTO choices VALUES (?, ?, ?)", (week, member_id, option))
                db.execute(
                    "UPDATE issued SET payload = ? WHERE week = ? AND member_id = ?",
                    (payload, week, member_id),
                )
                if release:
                    db.execute("UPDATE budget SET spent = max(spent - ?, 0) WHERE week = ?", (release, week))
        except sqlite3.Error as exc:
            raise self._failed(exc, "choose") from exc
        if (week, member_id) in self._recent:
            self._recent[(week, member_id)] = (payload, float(issued[1]))
        return ChoiceResult(option, payload, won=True)
