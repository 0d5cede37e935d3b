"""Shared fixtures: a tiny synthetic data set, the full Complete Journey load, and Redis servers of our own
(a three-node cluster, a TLS-only node) for the tests that need them."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from engine.data.schema import Dataset
from tests.redis_servers import LocalCluster, TlsRedis


@pytest.fixture(scope="session")
def synthetic_dataset() -> Dataset:
    """200 members, 300 items, 20 weeks; fixed seed, generated in well under a second."""
    from engine.data.synthetic import generate_synthetic

    return generate_synthetic(n_members=200, n_items=300, n_weeks=20, seed=7)


@pytest.fixture(scope="session")
def cj_dataset() -> Dataset:
    """The full Complete Journey data through the default config (a few seconds, loaded once)."""
    from engine.data.loaders import load_dataset

    return load_dataset()


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[LocalCluster]:
    """A three-node Redis Cluster on free ports, started once per session and stopped at its end."""
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        pytest.skip("redis-server / redis-cli are not installed")
    cluster = LocalCluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def tls_redis() -> Iterator[TlsRedis]:
    """A TLS-only Redis (``--port 0``) with a CA made for the test, stopped at the session's end."""
    if shutil.which("redis-server") is None or shutil.which("openssl") is None:
        pytest.skip("redis-server / openssl are not installed")
    server = TlsRedis().start()
    yield server
    server.stop()
