"""The store contract on a real three-node Redis Cluster (started by the test), and over TLS.

With one bucket every member key shares one slot; with eight, members spread over the cluster and each
bucket spends its share of the week's budget (:mod:`engine.serve.redis_store`).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import redis

from engine.errors import ConfigError, StoreUnavailable
from engine.redis_slots import bucket_of
from engine.serve.redis_store import RedisStore, RedisStoreConfig
from engine.serve.settings import load_settings
from engine.serve.store import BudgetClaim, InspectableStore
from tests.redis_servers import LocalCluster, TlsRedis
from tests.serve.test_store_contract import StoreContract, records, shared

pytestmark = [pytest.mark.anyio, pytest.mark.cluster]
BUCKETS = 8


@pytest.fixture
def anyio_backend() -> str:
    """asyncio only (the service runs on asyncio/uvloop)."""
    return "asyncio"


def cluster_config(cluster: LocalCluster, buckets: int, prefix: str | None = None) -> RedisStoreConfig:
    """A cluster store config under a fresh key prefix."""
    prefix = prefix or f"test-cluster-{uuid.uuid4().hex[:12]}"
    return RedisStoreConfig(url=cluster.url, cluster=True, buckets=buckets, key_prefix=prefix)


class TestRedisClusterStore(StoreContract):
    """One bucket: the contract exactly as on one node."""

    @pytest.fixture
    async def store(self, redis_cluster: LocalCluster) -> AsyncIterator[InspectableStore]:
        store = RedisStore(cluster_config(redis_cluster, 1))
        yield store
        await store.close()


class TestRedisClusterStoreBuckets(StoreContract):
    """Members spread over eight buckets (three nodes); the budget is checked per bucket's share."""

    @pytest.fixture
    async def store(self, redis_cluster: LocalCluster) -> AsyncIterator[InspectableStore]:
        store = RedisStore(cluster_config(redis_cluster, BUCKETS))
        yield store
        await store.close()

    async def test_budget_refuses_past_the_limit(self, store: InspectableStore) -> None:
        """Each bucket may spend limit / buckets; the week's total never passes the limit."""
        limit = 1.0 * BUCKETS
        same = [m for m in map(str, range(1, 500)) if bucket_of(m, BUCKETS) == bucket_of("1", BUCKETS)]
        other = next(m for m in map(str, range(1, 500)) if bucket_of(m, BUCKETS) != bucket_of("1", BUCKETS))

        def claim(cost: float) -> BudgetClaim:
            return BudgetClaim(3, cost, limit)

        ok = await store.issue_once(3, same[0], b"a", 60, ["issued"], budget=claim(0.6))
        over = await store.issue_once(3, same[1], b"b", 60, ["issued"], budget=claim(0.6), history=b"h")
        elsewhere = await store.issue_once(3, other, b"o", 60, ["issued"], budget=claim(0.6))
        fits = await store.issue_once(3, same[2], b"c", 60, ["issued"], budget=claim(0.4))
        assert (ok.payload, ok.over_budget) == (b"a", False)
        assert (over.won, over.over_budget) == (False, True)
        assert await store.get_issued(3, same[1]) is None
        assert await store.get_history(same[1]) is None
        assert (elsewhere.won, fits.won) == (True, True)
        assert await store.budget_spent(3) == pytest.approx(1.6)
        assert (await store.counters())["issued"] == 3

    async def test_members_spread_over_every_node(
        self, store: InspectableStore, redis_cluster: LocalCluster
    ) -> None:
        await store.publish("a", records("a", 200), shared("a"))
        for port in redis_cluster.ports:
            node = redis.Redis(port=port)
            assert node.dbsize() > 0, f"node {port} holds none of the buckets"
            node.close()
        for m in range(1, 201):
            assert (await store.lookup(1, str(m))).record == f"a:{m}".encode()


async def test_a_different_bucket_count_is_refused(redis_cluster: LocalCluster) -> None:
    first = RedisStore(cluster_config(redis_cluster, 4))
    await first.publish("a", records("a"), shared("a"))
    await first.close()
    second = RedisStore(cluster_config(redis_cluster, 8, first.config.key_prefix))
    with pytest.raises(ConfigError, match=r"buckets = 4.*buckets = 8"):
        await second.lookup(1, "1")
    await second.close()


async def test_tls_store_with_the_test_ca(tls_redis: TlsRedis) -> None:
    config = RedisStoreConfig(url=tls_redis.url, tls_ca_file=tls_redis.ca, key_prefix="test-tls")
    store = RedisStore(config)
    await store.publish("a", records("a"), shared("a"))
    assert (await store.lookup(1, "2")).record == b"a:2"
    assert (await store.issue_once(1, "2", b"x", 60)).won
    assert (await store.lookup(1, "2")).issued == b"x"
    await store.close()


async def test_tls_refuses_a_server_it_cannot_verify(tls_redis: TlsRedis) -> None:
    """Without the test CA the server's certificate is not trusted: a 503, not a plain connection."""
    store = RedisStore(RedisStoreConfig(url=tls_redis.url, key_prefix="test-tls-untrusted"))
    with pytest.raises(StoreUnavailable, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        await store.lookup(1, "1")
    await store.close()


@pytest.mark.parametrize(
    ("store", "message"),
    [
        ({"type": "redis", "url": "http://:hunter2@h:1/0"}, "must start with redis:// or rediss://"),
        ({"type": "redis", "url": "redis://:hunter2@h:1/x"}, "database must be a number"),
        ({"type": "redis", "url": "redis://:hunter2@h:1/2", "cluster": True}, "only database 0"),
        ({"type": "redis", "url": "redis://:hunter2@h:1/0", "tls_ca_file": "/ca.pem"}, "use rediss://"),
        ({"type": "redis", "url": "redis://:hunter2@h:1/0", "buckets": 0}, "buckets"),
        ({"type": "redis", "url": "rediss://:hunter2@h:1/0", "tls_ca_file": "/no/ca.pem"}, "no such file"),
    ],
)
def test_bad_store_urls_are_refused_without_the_password(store: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        load_settings(store=store)
    assert "hunter2" not in str(caught.value)
    assert "hunter2" not in repr(caught.value.to_dict())
