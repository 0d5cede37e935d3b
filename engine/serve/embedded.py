"""The embedded store: one local SQLite file, so the service runs with no server installed.

Issued challenges, offer history, the weekly budget spent, counters and the published model versions
live in ``[embedded] path`` (``state/serve.sqlite3`` by default) in WAL mode, so a restart of the service
(a deploy, a crash, ``kill -9``) changes no member's challenge and bypasses no frequency cap. With
``synchronous = "NORMAL"`` a commit does not wait for the disk: a process crash loses nothing, a power
loss may lose the last commits; ``"FULL"`` waits for the disk on every commit. ``path`` unset keeps the
data in memory only (tests, throwaway runs).

Tables::

    meta      key -> value       "current", "previous": generation numbers of the two live versions
    versions  gen -> name        one generation per publish (re-publishing a name makes a new one)
    members   (gen, member_id) -> candidate record
    shared    (gen, name) -> blob
    issued    (week, member_id) -> payload, expires_at
    history   member_id -> blob, expires_at
    budget    week -> spent, expires_at
    counters  name -> value
    restorations, choices   the loyalty programme's (:mod:`engine.serve.embedded_programme`)

A publish (:mod:`engine.serve.embedded_versions`) loads a new generation in batches (each its own short
transaction, invisible until the switch) and switches ``current`` in one transaction, so a request never
mixes versions; a generation left half loaded by a crash is deleted at the next start. Rows past their
retention are ignored by reads and deleted at start-up and every ``purge_interval_s``. WAL checkpoints
run in a background thread (:mod:`engine.serve.checkpoint`), and the issues of one event-loop turn share
a commit. One connection, one lock: the service is one process (the CLI refuses several workers on this
store); ``BEGIN IMMEDIATE`` keeps issue-once exact even if a second process opened the same file by mistake.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from pydantic import Field

from engine.config import StrictModel
from engine.errors import StoreUnavailable
from engine.serve.checkpoint import Checkpointer
from engine.serve.embedded_programme import SCHEMA as PROGRAMME_SCHEMA
from engine.serve.embedded_programme import EmbeddedProgramme
from engine.serve.embedded_sql import COUNT, HISTORY, ISSUED, MEMBER, SCHEMA, Issue, issue
from engine.serve.embedded_versions import EmbeddedVersions
from engine.serve.store import BudgetClaim, IssueResult, Lookup

BENCH_VALUE = b"pong"


class EmbeddedStoreConfig(StrictModel):
    """``[store] type = "embedded"``: picks this store; its options are the ``[embedded]`` table."""

    type: Literal["embedded"] = "embedded"


class EmbeddedOptions(StrictModel):
    """``[embedded]`` in ``configs/serve.toml``: where and how the embedded store keeps its data."""

    path: Path | None = Field(default=None, description="SQLite file (created with its folder); None: memory")
    synchronous: Literal["NORMAL", "FULL"] = Field(
        description="NORMAL: survives a crash, may lose the last commits on power loss; FULL: neither"
    )
    busy_timeout_s: float = Field(gt=0, description="wait for another writer of the file before a 503")
    publish_batch: int = Field(ge=1, description="member records per publish transaction")
    purge_interval_s: float = Field(gt=0, description="how often rows past their retention are deleted")
    cache_entries: int = Field(ge=0, description="issued challenges kept in memory for repeat reads")
    checkpoint_interval_s: float = Field(gt=0, description="WAL checkpoints in a background thread")


#: In memory, nothing to wait for: for tests and :class:`EmbeddedStore` built without options.
IN_MEMORY = EmbeddedOptions(
    path=None,
    synchronous="NORMAL",
    busy_timeout_s=5.0,
    publish_batch=2000,
    purge_interval_s=3600.0,
    cache_entries=0,
    checkpoint_interval_s=1.0,
)


class EmbeddedStore(EmbeddedVersions, EmbeddedProgramme):
    """A :class:`~engine.serve.store.Store` in a local SQLite file (see the module docstring)."""

    def __init__(self, options: EmbeddedOptions | None = None) -> None:
        self.options = options or IN_MEMORY
        self.where = str(self.options.path) if self.options.path else "memory"
        self._lock = threading.Lock()
        self._gens: dict[str, int] = {}
        self._current: str | None = None
        self._previous: str | None = None
        self._next_purge = 0.0
        # Issued challenges never change once written (only expire): repeat reads of recent ones skip
        # SQLite. (week, member_id) -> (payload, expires_at), oldest first out.
        self._recent: dict[tuple[int, str], tuple[bytes, float]] = {}
        self._queued: list[tuple[Issue, asyncio.Future[IssueResult]]] = []
        try:
            if self.options.path is not None:
                self.options.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.options.path or ":memory:",
                isolation_level=None,  # explicit BEGIN IMMEDIATE / COMMIT below
                check_same_thread=False,  # every use is under self._lock
                timeout=self.options.busy_timeout_s,
            )
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute(f"PRAGMA synchronous = {self.options.synchronous}")
            if self.options.path is not None:
                # Checkpoints (which wait for the disk) run in a thread, not on a request's commit.
                self._db.execute("PRAGMA wal_autocheckpoint = 0")
            self._db.executescript(SCHEMA + PROGRAMME_SCHEMA)
            with self._write() as db:
                gens = self._live_gens(db)
                # A generation neither current nor previous is a publish cut short by a crash.
                stale = [g for (g,) in db.execute("SELECT gen FROM versions") if g not in gens.values()]
                self._drop(db, stale)
                self._load_names()
            self._purge(time.time())
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(f"embedded store {self.where}: cannot open: {exc}") from exc
        self._checkpointer = None
        if self.options.path is not None:
            self._checkpointer = Checkpointer(self.options.path, self.options.checkpoint_interval_s)
            self._checkpointer.start()

    # -- plumbing ------------------------------------------------------------------------------------
    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (caller holds no lock; this takes it)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:  # a failed COMMIT (disk full) leaves it open
                    self._db.execute("ROLLBACK")
                raise

    def _failed(self, exc: sqlite3.Error, what: str) -> StoreUnavailable:
        return StoreUnavailable(f"embedded store {self.where} failed during {what}: {exc}")

    def _purge(self, now: float) -> None:
        if now < self._next_purge:
            return
        self._next_purge = now + self.options.purge_interval_s
        with self._write() as db:
            for table in ("issued", "history", "budget", "restorations"):
                db.execute(f"DELETE FROM {table} WHERE expires_at <= ?", (now,))  # table names are fixed

    def _read(self, sql: str, args: tuple[object, ...], what: str) -> bytes | None:
        try:
            with self._lock:
                row = self._db.execute(sql, args).fetchone()
        except sqlite3.Error as exc:
            raise self._failed(exc, what) from exc
        return None if row is None else bytes(row[0])

    # -- issuance ------------------------------------------------------------------------------------
    async def lookup(self, week: int, member_id: str) -> Lookup:
        """Issued challenge, else current version, record and history, read under the lock."""
        now = time.time()
        hit = self._recent.get((week, member_id))
        if hit is not None and hit[1] > now:
            return Lookup(hit[0], None, None)
        try:
            with self._lock:
                db = self._db
                row = db.execute(ISSUED, (week, member_id, now)).fetchone()
                if row is not None:
                    return Lookup(self._remember(week, member_id, bytes(row[0]), row[1]), None, None)
                version = self._current
                if version is None:
                    return Lookup(None, None, None)
                record = db.execute(MEMBER, (self._gens[version], member_id)).fetchone()
                history = db.execute(HISTORY, (member_id, now)).fetchone()
        except sqlite3.Error as exc:
            raise self._failed(exc, "lookup") from exc
        return Lookup(
            None,
            version,
            None if record is None else bytes(record[0]),
            None if history is None else bytes(history[0]),
        )

    async def issue_once(
        self,
        week: int,
        member_id: str,
        payload: bytes,
        ttl_s: int,
        counters: Sequence[str] = (),
        *,
        history: bytes | None = None,
        history_ttl_s: int = 0,
        budget: BudgetClaim | None = None,
    ) -> IssueResult:
        """First writer wins, atomically with the budget, counters and history; durable when it returns.

        The issues of one event-loop turn share one transaction (group commit: the commit is most of
        the cost); each runs in order inside it, so first-writer-wins holds within a batch too.
        """
        loop = asyncio.get_running_loop()
        done: asyncio.Future[IssueResult] = loop.create_future()
        self._queued.append(
            (Issue(week, member_id, payload, ttl_s, counters, history, history_ttl_s, budget), done)
        )
        if len(self._queued) == 1:
            loop.call_soon(self._flush)
        return await done

    def _flush(self) -> None:
        batch, self._queued = self._queued, []
        now = time.time()
        try:
            self._purge(now)
            with self._write() as db:
                results = [issue(db, op, now) for op, _ in batch]
        except sqlite3.Error as exc:
            error = self._failed(exc, "issue")
            for _, done in batch:
                if not done.done():
                    done.set_exception(error)
            return
        for (op, done), (result, expires_at) in zip(batch, results, strict=True):
            if not result.over_budget:
                self._remember(op.week, op.member_id, result.payload, expires_at)
            if not done.done():  # a cancelled request's issue is stored all the same
                done.set_result(result)

    def _remember(self, week: int, member_id: str, payload: bytes, expires_at: float) -> bytes:
        if self.options.cache_entries:
            if len(self._recent) >= self.options.cache_entries:
                del self._recent[next(iter(self._recent))]
            self._recent[(week, member_id)] = (payload, expires_at)
        return payload

    async def get_history(self, member_id: str) -> bytes | None:
        """The member's offer history blob."""
        return self._read(HISTORY, (member_id, time.time()), "read")

    async def budget_spent(self, week: int) -> float:
        """Expected reward cost issued so far in ``week``."""
        try:
            with self._lock:
                row = self._db.execute(
                    "SELECT spent FROM budget WHERE week = ? AND expires_at > ?", (week, time.time())
                ).fetchone()
        except sqlite3.Error as exc:
            raise self._failed(exc, "read") from exc
        return 0.0 if row is None else float(row[0])

    async def get_issued(self, week: int, member_id: str) -> bytes | None:
        """The challenge issued to the member in ``week``."""
        return self._read(ISSUED, (week, member_id, time.time()), "read")

    async def incr(self, counter: str, amount: int = 1) -> None:
        """Add ``amount`` to a counter."""
        try:
            with self._write() as db:
                db.execute(COUNT, (counter, amount))
        except sqlite3.Error as exc:
            raise self._failed(exc, "counters") from exc

    async def counters(self) -> dict[str, int]:
        """A snapshot of every counter."""
        try:
            with self._lock:
                rows = self._db.execute("SELECT name, value FROM counters").fetchall()
        except sqlite3.Error as exc:
            raise self._failed(exc, "counters") from exc
        return {name: int(value) for name, value in rows}

    async def ping(self) -> None:
        """Raise :class:`StoreUnavailable` if the file cannot be read."""
        try:
            with self._lock:
                self._db.execute("SELECT 1").fetchone()
        except sqlite3.Error as exc:
            raise self._failed(exc, "ping") from exc

    async def durability(self) -> str | None:
        """None with a file; in memory, a restart of the service loses everything."""
        if self.options.path is not None:
            return None
        return (
            "the embedded store keeps everything in memory ([embedded] path is unset): a restart of the "
            "service forgets every issued challenge and the offer history"
        )

    async def bench_get(self) -> bytes | None:
        """No read at all: the floor of this store."""
        return BENCH_VALUE

    async def close(self) -> None:
        """Stop checkpointing and close the file (everything committed is already in it)."""
        if self._checkpointer is not None:
            self._checkpointer.stop()
        with self._lock:
            self._db.close()
