"""One contract, two stores: the embedded store and real Redis must behave the same."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from engine.errors import Conflict, StoreUnavailable
from engine.serve.embedded import EmbeddedOptions, EmbeddedStore
from engine.serve.redis_store import RedisStore, RedisStoreConfig
from engine.serve.settings import load_settings
from engine.serve.store import BudgetClaim, InspectableStore
from tests.serve.conftest import REDIS_URL, delete_prefix, redis_available

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    """asyncio only (the service runs on asyncio/uvloop)."""
    return "asyncio"


def records(version: str, n: int = 5) -> list[tuple[str, bytes]]:
    """``n`` member records tagged with ``version``."""
    return [(str(m), f"{version}:{m}".encode()) for m in range(1, n + 1)]


def shared(version: str) -> dict[str, bytes]:
    """Shared blobs tagged with ``version``."""
    return {"catalog": f"catalog-{version}".encode(), "manifest": b"{}"}


class StoreContract:
    """What every :class:`Store` must do; subclasses provide the ``store`` fixture."""

    async def test_nothing_published(self, store: InspectableStore) -> None:
        assert await store.current_version() is None
        found = await store.lookup(1, "1")
        assert (found.issued, found.version, found.record) == (None, None, None)

    async def test_publish_switches_and_keeps_previous(self, store: InspectableStore) -> None:
        assert await store.publish("a", records("a"), shared("a")) is None
        assert await store.publish("b", records("b"), shared("b")) == "a"
        assert await store.current_version() == "b"
        assert await store.previous_version() == "a"
        assert await store.get_member("b", "2") == b"b:2"
        assert await store.get_member("a", "2") == b"a:2"
        assert await store.get_shared("b", "catalog") == b"catalog-b"
        found = await store.lookup(3, "4")
        assert (found.issued, found.version, found.record) == (None, "b", b"b:4")
        assert (await store.lookup(3, "unknown")).record is None

    async def test_third_publish_drops_the_oldest(self, store: InspectableStore) -> None:
        for v in ("a", "b", "c"):
            await store.publish(v, records(v), shared(v))
        assert await store.get_shared("a", "catalog") is None
        assert await store.get_member("a", "1") is None
        assert await store.get_member("b", "1") == b"b:1"

    async def test_republishing_current_reloads_it(self, store: InspectableStore) -> None:
        await store.publish("a", records("a"), shared("a"))
        await store.publish("b", records("b"), shared("b"))
        await store.publish("b", [("1", b"new")], shared("b"))
        assert await store.current_version() == "b"
        assert await store.previous_version() == "a"
        assert await store.get_member("b", "1") == b"new"
        assert await store.get_member("b", "2") is None

    async def test_rollback_swaps(self, store: InspectableStore) -> None:
        await store.publish("a", records("a"), shared("a"))
        with pytest.raises(Conflict):
            await store.rollback()
        await store.publish("b", records("b"), shared("b"))
        assert await store.rollback() == "a"
        assert (await store.lookup(1, "1")).record == b"a:1"
        assert await store.previous_version() == "b"
        assert await store.rollback() == "b"

    async def test_issue_once_first_writer_wins(self, store: InspectableStore) -> None:
        first = await store.issue_once(5, "7", b"one", 60, ["decisions", "status:issued"])
        second = await store.issue_once(5, "7", b"two", 60, ["decisions", "status:issued"])
        assert (first.payload, first.won) == (b"one", True)
        assert (second.payload, second.won) == (b"one", False)
        assert await store.get_issued(5, "7") == b"one"
        assert (await store.lookup(5, "7")).issued == b"one"
        assert await store.get_issued(6, "7") is None
        counters = await store.counters()
        assert counters["decisions"] == 1
        assert counters["status:issued"] == 1

    async def test_concurrent_issue_once_stores_exactly_one(self, store: InspectableStore) -> None:
        results = await asyncio.gather(
            *(store.issue_once(9, "42", f"candidate-{k}".encode(), 60, ["decisions"]) for k in range(50))
        )
        winners = [r for r in results if r.won]
        assert len(winners) == 1
        assert {r.payload for r in results} == {winners[0].payload}
        assert (await store.counters())["decisions"] == 1

    async def test_history_written_only_by_the_winner(self, store: InspectableStore) -> None:
        await store.publish("a", records("a"), shared("a"))
        await store.issue_once(1, "1", b"x", 60, history=b"h1", history_ttl_s=60)
        await store.issue_once(1, "1", b"y", 60, history=b"h2", history_ttl_s=60)
        assert await store.get_history("1") == b"h1"
        assert (await store.lookup(2, "1")).history == b"h1"

    async def test_budget_refuses_past_the_limit(self, store: InspectableStore) -> None:
        def claim(cost: float) -> BudgetClaim:
            return BudgetClaim(3, cost, 1.0)

        ok = await store.issue_once(3, "1", b"a", 60, ["issued"], budget=claim(0.6))
        over = await store.issue_once(3, "2", b"b", 60, ["issued"], budget=claim(0.6), history=b"h")
        fits = await store.issue_once(3, "3", b"c", 60, ["issued"], budget=claim(0.4))
        assert (ok.payload, ok.over_budget) == (b"a", False)
        assert (over.won, over.over_budget) == (False, True)
        assert await store.get_issued(3, "2") is None
        assert await store.get_history("2") is None
        assert fits.payload == b"c"
        assert await store.budget_spent(3) == pytest.approx(1.0)
        counters = await store.counters()
        assert counters["issued"] == 2

    async def test_incr_and_ping(self, store: InspectableStore) -> None:
        await store.ping()
        await store.incr("exposure:control", 3)
        assert (await store.counters())["exposure:control"] == 3
        await store.bench_get()


def file_options(path: Path) -> EmbeddedOptions:
    """The shipped ``[embedded]`` options with the file at ``path``."""
    return load_settings(embedded={"path": str(path)}).embedded

    async def test_a_restored_tier_is_kept_until_a_longer_one(self, store: InspectableStore) -> None:
        assert await store.restored_tier("7") is None
        assert await store.restore_tier("7", "gold", 20, 3600)
        assert await store.restored_tier("7") == ("gold", 20)
        assert not await store.restore_tier("7", "silver", 20, 3600)  # a resend changes nothing
        assert not await store.restore_tier("7", "silver", 18, 3600)
        assert await store.restored_tier("7") == ("gold", 20)
        assert await store.restore_tier("7", "diamond", 25, 3600)
        assert await store.restored_tier("7") == ("diamond", 25)
        assert await store.restored_tier("8") is None

    async def test_a_choice_is_made_once_with_the_answer_and_the_budget(
        self, store: InspectableStore
    ) -> None:
        nothing = await store.choose_once(5, "1", "2", b"chosen", 0.1)
        assert (nothing.issued, nothing.won) == (False, False)
        await store.issue_once(5, "1", b"pending", 60, budget=BudgetClaim(5, 0.5, 10.0))
        first = await store.choose_once(5, "1", "2", b"chosen-2", 0.2)
        assert (first.option, first.payload, first.won) == ("2", b"chosen-2", True)
        assert await store.get_issued(5, "1") == b"chosen-2"
        assert (await store.lookup(5, "1")).issued == b"chosen-2"
        assert await store.budget_spent(5) == pytest.approx(0.3)
        again = await store.choose_once(5, "1", "3", b"chosen-3", 0.4)
        assert (again.option, again.payload, again.won) == ("2", b"chosen-2", False)
        assert await store.budget_spent(5) == pytest.approx(0.3)  # released once
        assert await store.get_issued(5, "1") == b"chosen-2"

    async def test_concurrent_choices_record_one(self, store: InspectableStore) -> None:
        await store.issue_once(6, "1", b"pending", 60, budget=BudgetClaim(6, 0.5, 10.0))
        results = await asyncio.gather(
            *(store.choose_once(6, "1", str(k), f"chosen-{k}".encode(), 0.1) for k in (1, 2, 3, 1, 2, 3))
        )
        assert sum(r.won for r in results) == 1
        assert len({r.option for r in results}) == 1
        assert await store.budget_spent(6) == pytest.approx(0.4)


class TestEmbeddedStore(StoreContract):
    """The shipped embedded store: a SQLite file."""

    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[InspectableStore]:
        store = EmbeddedStore(file_options(tmp_path / "serve.sqlite3"))
        yield store
        await store.close()


class TestEmbeddedStoreReopened(StoreContract):
    """Every contract test again, on a file closed and reopened in the middle (a service restart)."""

    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[InspectableStore]:
        options = file_options(tmp_path / "serve.sqlite3")
        first = EmbeddedStore(options)
        await first.issue_once(99, "other", b"before", 60, history=b"h", history_ttl_s=60)
        await first.close()
        store = EmbeddedStore(options)
        assert await store.get_issued(99, "other") == b"before"
        yield store
        await store.close()


class TestEmbeddedStoreInMemory(StoreContract):
    """``[embedded] path`` unset: the same store in memory only."""

    @pytest.fixture
    async def store(self) -> AsyncIterator[InspectableStore]:
        store = EmbeddedStore()
        yield store
        await store.close()


async def test_embedded_store_keeps_everything_across_a_restart(tmp_path: Path) -> None:
    options = file_options(tmp_path / "serve.sqlite3")
    store = EmbeddedStore(options)
    await store.publish("a", records("a"), shared("a"))
    await store.publish("b", records("b"), shared("b"))
    claim = BudgetClaim(4, 0.25, 10.0)
    await store.issue_once(
        4, "2", b"payload", 60, ["decisions"], history=b"h2", history_ttl_s=60, budget=claim
    )
    await store.incr("exposure:control", 3)
    await store.close()

    again = EmbeddedStore(options)
    assert (await again.current_version(), await again.previous_version()) == ("b", "a")
    assert await again.get_member("a", "3") == b"a:3"
    assert await again.get_shared("b", "catalog") == b"catalog-b"
    assert (await again.lookup(4, "2")).issued == b"payload"
    assert (await again.lookup(5, "2")).history == b"h2"
    assert await again.budget_spent(4) == pytest.approx(0.25)
    assert await again.counters() == {"decisions": 1, "exposure:control": 3}
    second = await again.issue_once(4, "2", b"other", 60, ["decisions"])
    assert (second.payload, second.won) == (b"payload", False)
    assert await again.rollback() == "a"
    await again.close()


async def test_embedded_store_forgets_what_is_past_its_retention(tmp_path: Path) -> None:
    store = EmbeddedStore(file_options(tmp_path / "serve.sqlite3"))
    await store.issue_once(4, "2", b"old", 1, history=b"h", history_ttl_s=1, budget=BudgetClaim(4, 1.0, 5.0))
    await asyncio.sleep(1.1)
    assert await store.get_issued(4, "2") is None
    assert await store.get_history("2") is None
    assert await store.budget_spent(4) == 0.0
    fresh = await store.issue_once(4, "2", b"new", 60)
    assert (fresh.payload, fresh.won) == (b"new", True)
    await store.close()


async def test_a_publish_cut_short_leaves_nothing_behind(tmp_path: Path) -> None:
    options = file_options(tmp_path / "serve.sqlite3")
    store = EmbeddedStore(options)
    await store.publish("a", records("a"), shared("a"))

    def broken() -> Iterator[tuple[str, bytes]]:
        yield from records("b", 3)
        raise RuntimeError("artifact read failed half-way")

    with pytest.raises(RuntimeError):
        await store.publish("b", broken(), shared("b"))
    assert await store.current_version() == "a"
    assert await store.get_member("b", "1") is None
    await store.close()
    assert (await EmbeddedStore(options).current_version()) == "a"


@pytest.mark.redis
class TestRedisStore(StoreContract):
    @pytest.fixture
    async def store(self) -> AsyncIterator[InspectableStore]:
        if not redis_available():
            pytest.skip("no Redis on 127.0.0.1:6379")
        prefix = f"test-contract-{uuid.uuid4().hex[:12]}"
        store = RedisStore(RedisStoreConfig(url=REDIS_URL, key_prefix=prefix))
        yield store
        await store.close()
        delete_prefix(REDIS_URL, prefix)


def test_an_unusable_file_is_refused_naming_it(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the store's folder should be")
    with pytest.raises(StoreUnavailable, match="not-a-folder"):
        EmbeddedStore(file_options(blocker / "serve.sqlite3"))
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"this is not a SQLite database" * 100)
    with pytest.raises(StoreUnavailable, match=r"garbage\.sqlite3: cannot open"):
        EmbeddedStore(file_options(garbage))
