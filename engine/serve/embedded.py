"""The embedded store: everything in this process, so the service runs with no server installed.

Thread-safe (one lock around every read-modify-write) so that the CLI, tests and a threaded server can
share one instance. Data lives as long as the process: issued challenges do not survive a restart, which
is why production uses :class:`~engine.serve.redis_store.RedisStore`.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

from engine.config import StrictModel
from engine.errors import Conflict
from engine.serve.store import BudgetClaim, IssueResult, Lookup

BENCH_VALUE = b"pong"


class EmbeddedStoreConfig(StrictModel):
    """``[store] type = "embedded"``: no options."""

    type: Literal["embedded"] = "embedded"


class _Version:
    __slots__ = ("members", "shared")

    def __init__(self, members: dict[str, bytes], shared: dict[str, bytes]) -> None:
        self.members = members
        self.shared = shared


class EmbeddedStore:
    """An in-process :class:`~engine.serve.store.Store`."""

    def __init__(self, config: EmbeddedStoreConfig | None = None) -> None:
        self.config = config or EmbeddedStoreConfig()
        self._lock = threading.Lock()
        self._versions: dict[str, _Version] = {}
        self._current: str | None = None
        self._previous: str | None = None
        self._issued: dict[tuple[int, str], bytes] = {}
        self._counters: defaultdict[str, int] = defaultdict(int)
        self._history: dict[str, bytes] = {}
        self._spent: defaultdict[int, float] = defaultdict(float)

    async def publish(
        self, version: str, records: Iterable[tuple[str, bytes]], shared: Mapping[str, bytes]
    ) -> str | None:
        """Build the version outside the lock, then switch ``current`` under it."""
        loaded = _Version(dict(records), dict(shared))
        with self._lock:
            before = self._current
            self._versions[version] = loaded
            if before != version:
                self._previous, self._current = before, version
            # Keep only current and previous: an older version can no longer be rolled back to.
            for name in [v for v in self._versions if v not in (self._current, self._previous)]:
                del self._versions[name]
            return before

    async def rollback(self) -> str:
        """Swap ``current`` and ``previous``."""
        with self._lock:
            if self._previous is None or self._previous not in self._versions:
                raise Conflict("no previous model version to roll back to")
            self._current, self._previous = self._previous, self._current
            return self._current

    async def current_version(self) -> str | None:
        """The version new issuances read."""
        return self._current

    async def previous_version(self) -> str | None:
        """The version a rollback returns to."""
        return self._previous

    async def get_member(self, version: str, member_id: str) -> bytes | None:
        """One member's record in ``version``."""
        loaded = self._versions.get(version)
        return None if loaded is None else loaded.members.get(member_id)

    async def get_shared(self, version: str, name: str) -> bytes | None:
        """A shared blob of ``version``."""
        loaded = self._versions.get(version)
        return None if loaded is None else loaded.shared.get(name)

    async def lookup(self, week: int, member_id: str) -> Lookup:
        """Issued challenge, else current version and record, read under the lock (one consistent view)."""
        with self._lock:
            issued = self._issued.get((week, member_id))
            if issued is not None:
                return Lookup(issued, None, None)
            version = self._current
            if version is None:
                return Lookup(None, None, None)
            record = self._versions[version].members.get(member_id)
            return Lookup(None, version, record, self._history.get(member_id))

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
        """First writer wins; TTLs are ignored (the process's life is shorter than any retention)."""
        with self._lock:
            stored = self._issued.get((week, member_id))
            if stored is not None:
                return IssueResult(stored, won=False)
            if budget is not None and self._spent[budget.week] + budget.cost > budget.limit:
                return IssueResult(b"", won=False, over_budget=True)
            if budget is not None:
                self._spent[budget.week] += budget.cost
            self._issued[(week, member_id)] = payload
            for name in counters:
                self._counters[name] += 1
            if history is not None:
                self._history[member_id] = history
            return IssueResult(payload, won=True)

    async def get_history(self, member_id: str) -> bytes | None:
        """The member's offer history blob."""
        return self._history.get(member_id)

    async def budget_spent(self, week: int) -> float:
        """Expected reward cost issued so far in ``week``."""
        return self._spent.get(week, 0.0)

    async def get_issued(self, week: int, member_id: str) -> bytes | None:
        """The challenge issued to the member in ``week``."""
        return self._issued.get((week, member_id))

    async def incr(self, counter: str, amount: int = 1) -> None:
        """Add ``amount`` to a counter."""
        with self._lock:
            self._counters[counter] += amount

    async def counters(self) -> dict[str, int]:
        """A snapshot of every counter."""
        with self._lock:
            return dict(self._counters)

    async def ping(self) -> None:
        """Always reachable."""

    async def bench_get(self) -> bytes | None:
        """A single dict read."""
        return BENCH_VALUE

    async def close(self) -> None:
        """Nothing to release."""
