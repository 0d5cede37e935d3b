"""The embedded store's model versions: publish a generation, switch, roll back, read a version's rows.

A mixin of :class:`~engine.serve.embedded.EmbeddedStore`, which owns the connection, the lock and the
options; kept apart so that each file holds one concept. Each publish loads a new generation (tables
``versions``, ``members``, ``shared``) in batches, each its own short transaction invisible until the
switch, then switches ``meta.current`` (and ``meta.previous``) in one transaction, so a request never
mixes versions.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from engine.errors import Conflict, StoreUnavailable
from engine.serve.embedded_sql import MEMBER

if TYPE_CHECKING:
    from engine.serve.embedded import EmbeddedOptions


class EmbeddedVersions:
    """Published model versions (generations) in the embedded store's SQLite file."""

    options: EmbeddedOptions
    _db: sqlite3.Connection
    _gens: dict[str, int]
    _current: str | None
    _previous: str | None
    _write: Callable[[], AbstractContextManager[sqlite3.Connection]]
    _failed: Callable[[sqlite3.Error, str], StoreUnavailable]
    _read: Callable[[str, tuple[object, ...], str], bytes | None]

    @staticmethod
    def _live_gens(db: sqlite3.Connection) -> dict[str, int]:
        return dict(db.execute("SELECT key, value FROM meta"))

    def _load_names(self) -> None:
        rows = self._db.execute(
            "SELECT m.key, v.gen, v.name FROM meta m JOIN versions v ON v.gen = m.value"
        ).fetchall()
        live = {key: (gen, name) for key, gen, name in rows}
        self._gens = {name: gen for gen, name in live.values()}
        self._current = live["current"][1] if "current" in live else None
        self._previous = live["previous"][1] if "previous" in live else None

    @staticmethod
    def _drop(db: sqlite3.Connection, gens: Sequence[int]) -> None:
        for gen in gens:
            db.execute("DELETE FROM members WHERE gen = ?", (gen,))
            db.execute("DELETE FROM shared WHERE gen = ?", (gen,))
            db.execute("DELETE FROM versions WHERE gen = ?", (gen,))

    # -- model versions ------------------------------------------------------------------------------
    async def publish(
        self, version: str, records: Iterable[tuple[str, bytes]], shared: Mapping[str, bytes]
    ) -> str | None:
        """Load a new generation in short batches (yielding to the loop), then switch in one step."""
        try:
            with self._write() as db:
                gen = int(db.execute("INSERT INTO versions (name) VALUES (?)", (version,)).lastrowid or 0)
            try:
                await self._stage(gen, records)
            except BaseException:
                with self._write() as db:
                    self._drop(db, [gen])
                raise
            with self._write() as db:
                db.executemany(
                    "INSERT OR REPLACE INTO shared VALUES (?, ?, ?)",
                    [(gen, name, blob) for name, blob in shared.items()],
                )
                live = self._live_gens(db)
                before = self._current
                if before == version:
                    # Re-publishing the current version: the new generation replaces it, previous stays.
                    self._drop(db, [live["current"]])
                    db.execute("UPDATE meta SET value = ? WHERE key = 'current'", (gen,))
                else:
                    if "previous" in live:
                        self._drop(db, [live["previous"]])
                    if "current" in live:
                        db.execute("INSERT OR REPLACE INTO meta VALUES ('previous', ?)", (live["current"],))
                    db.execute("INSERT OR REPLACE INTO meta VALUES ('current', ?)", (gen,))
                self._load_names()
        except sqlite3.Error as exc:
            raise self._failed(exc, "publish") from exc
        return before

    async def _stage(self, gen: int, records: Iterable[tuple[str, bytes]]) -> None:
        """Write ``records`` under generation ``gen`` in batches, letting requests run in between."""
        batch: list[tuple[int, str, bytes]] = []
        for member_id, record in records:
            batch.append((gen, member_id, record))
            if len(batch) >= self.options.publish_batch:
                with self._write() as db:
                    db.executemany("INSERT OR REPLACE INTO members VALUES (?, ?, ?)", batch)
                batch = []
                await asyncio.sleep(0)
        with self._write() as db:
            db.executemany("INSERT OR REPLACE INTO members VALUES (?, ?, ?)", batch)

    async def rollback(self) -> str:
        """Swap ``current`` and ``previous``."""
        try:
            with self._write() as db:
                live = self._live_gens(db)
                if "previous" not in live:
                    raise Conflict("no previous model version to roll back to")
                db.execute("UPDATE meta SET value = ? WHERE key = 'current'", (live["previous"],))
                db.execute("UPDATE meta SET value = ? WHERE key = 'previous'", (live["current"],))
                self._load_names()
        except sqlite3.Error as exc:
            raise self._failed(exc, "rollback") from exc
        assert self._current is not None
        return self._current

    async def current_version(self) -> str | None:
        """The version new issuances read."""
        return self._current

    async def previous_version(self) -> str | None:
        """The version a rollback returns to."""
        return self._previous

    async def get_member(self, version: str, member_id: str) -> bytes | None:
        """One member's record in ``version``."""
        gen = self._gens.get(version)
        return None if gen is None else self._read(MEMBER, (gen, member_id), "read")

    async def get_shared(self, version: str, name: str) -> bytes | None:
        """A shared blob of ``version``."""
        gen = self._gens.get(version)
        sql = "SELECT blob FROM shared WHERE gen = ? AND name = ?"
        return None if gen is None else self._read(sql, (gen, name), "read")
