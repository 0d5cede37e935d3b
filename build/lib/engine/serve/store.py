"""The online store contract: what issuance and publishing need, whatever holds the data.

Two implementations share it and one contract test suite (``tests/serve/test_store_contract.py``):
:class:`~engine.serve.embedded.EmbeddedStore` (in this process, the default) and
:class:`~engine.serve.redis_store.RedisStore` (production). Values are opaque bytes; the store knows
nothing about candidates or challenges.

Data model
    model versions   each version holds one record per member plus a few shared blobs (catalog, cold-start
                     lists, manifest); ``current`` names the version new issuances read, ``previous`` the
                     one a rollback returns to. Older versions are deleted when a newer one is published.
    issued           one challenge per (week, member), written once (SET NX): the first writer wins and
                     every later or concurrent writer gets the stored one back.
    history          per member: the weeks of the last offer and of each stretch category offered, so that
                     frequency caps and stretch-repeat rules hold across weeks; written with the issue.
    budget           per week: the expected reward cost issued so far; an issue that would pass the
                     week's limit stores the given no-offer instead, atomically.
    counters         integer counters (issuances, no-offer reasons, exposures), bumped only by the writer
                     that actually issued.

The contract is split by who needs what: :class:`IssueStore` (the request path), :class:`ModelStore`
(publish, rollback), :class:`Store` (what the service holds: both plus health and counters) and
:class:`InspectableStore` (point reads for tests and support tools).

Every method raises :class:`~engine.errors.StoreUnavailable` when the backing server cannot be reached.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class Lookup:
    """What one round trip tells about a (week, member) request.

    Attributes
    ----------
    issued
        The challenge already issued this week (then the other fields are ``None``).
    version
        The current model version when nothing was issued yet (``None``: no model published).
    record
        The member's candidate record in ``version`` (``None``: the member is unknown to it).
    history
        The member's offer history blob (``None``: never offered).
    """

    issued: bytes | None
    version: str | None
    record: bytes | None
    history: bytes | None = None


@dataclass(frozen=True, slots=True)
class BudgetClaim:
    """Spend ``cost`` of week ``week``'s ``limit``; if it does not fit, nothing is stored or spent."""

    week: int
    cost: float
    limit: float


@dataclass(frozen=True, slots=True)
class IssueResult:
    """The outcome of :meth:`Store.issue_once`.

    ``payload`` is what is stored now (ours or an earlier writer's); ``won`` says this call wrote it.
    ``over_budget`` says nothing was written because the budget claim did not fit (``payload`` empty).
    """

    payload: bytes
    won: bool
    over_budget: bool = False


class IssueStore(Protocol):
    """What issuing a challenge needs (:mod:`engine.serve.issuance`): two round trips and shared blobs."""

    async def lookup(self, week: int, member_id: str) -> Lookup:
        """The issued challenge, or else the current version and the member's record in it, atomically."""
        ...

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
        """Store ``payload`` unless a challenge exists for (week, member), atomically.

        Only the call that stores bumps ``counters`` and writes ``history`` (if given); with ``budget``
        the payload is stored (and the cost spent) only if the cost fits the week's remaining budget.
        """
        ...

    async def counters(self) -> dict[str, int]:
        """Every counter and its value (issuance reads the week's cold-start count)."""
        ...

    async def budget_spent(self, week: int) -> float:
        """Expected reward cost issued so far in ``week`` (a preview checks what is left)."""
        ...

    async def get_issued(self, week: int, member_id: str) -> bytes | None:
        """The challenge issued to the member in ``week`` (the purchase path reads its model version)."""
        ...

    async def get_shared(self, version: str, name: str) -> bytes | None:
        """A shared blob (catalog, cold-start lists, manifest) of ``version``."""
        ...


class ModelStore(Protocol):
    """What publishing and rolling back model versions need."""

    async def publish(
        self, version: str, records: Iterable[tuple[str, bytes]], shared: Mapping[str, bytes]
    ) -> str | None:
        """Load ``version`` fully, then make it current in one atomic step.

        Returns the version that was current before (now ``previous``), or ``None``.
        Re-publishing the current version reloads its data and keeps ``previous`` as it was.
        """
        ...

    async def rollback(self) -> str:
        """Make ``previous`` current again (and the rolled-back one ``previous``); returns the new current.

        Raises :class:`~engine.errors.Conflict` when there is no previous version.
        """
        ...

    async def current_version(self) -> str | None:
        """The version new issuances read, or ``None`` before the first publish."""
        ...

    async def previous_version(self) -> str | None:
        """The version a rollback would return to."""
        ...


@runtime_checkable
class Store(IssueStore, ModelStore, Protocol):
    """The whole online store the service holds: issuing, models, and its own operation."""

    async def ping(self) -> None:
        """Raise :class:`~engine.errors.StoreUnavailable` if the store cannot answer."""
        ...

    async def durability(self) -> str | None:
        """``None`` if the data survives a restart of the store; else a sentence saying what is lost."""
        ...

    async def bench_get(self) -> bytes | None:
        """A single plain read of one small key: the floor the latency benchmark compares against."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class InspectableStore(Store, Protocol):
    """Point reads for tests and support tools (both stores have them; the request path uses none)."""

    async def get_member(self, version: str, member_id: str) -> bytes | None:
        """One member's record in ``version``."""
        ...

    async def get_history(self, member_id: str) -> bytes | None:
        """The member's offer history blob."""
        ...

    async def incr(self, counter: str, amount: int = 1) -> None:
        """Add ``amount`` to a counter."""
        ...
