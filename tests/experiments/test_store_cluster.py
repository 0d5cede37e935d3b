"""The experiment event store's contract on a real three-node Redis Cluster (started by the test).

The tests of ``test_store.py`` that take a store run here again, with ``make_store`` opening the Redis
event store on the cluster with members spread over eight buckets.
"""

from __future__ import annotations

from collections.abc import Iterator
from uuid import uuid4

import pytest

from engine.errors import ConfigError
from engine.experiments.config import RedisStoreConfig
from engine.experiments.protocol import EventStore
from engine.experiments.redis_store import RedisEventStore
from tests.experiments.conftest import StoreFactory
from tests.experiments.test_store import (
    test_a_purchase_that_earns_nothing_is_kept_but_never_completes,
    test_a_signal_id_with_other_content_is_a_conflict,
    test_bad_purchase_events_are_refused,
    test_changed_challenge_in_a_week_is_a_conflict,
    test_exactly_once_under_duplicates_and_any_order,
    test_holdout_exposure_counts_without_offer,
    test_negative_signals_are_kept_once_and_only_an_opt_out_stops_offers,
    test_opting_in_again_restores_offers_by_the_latest_signal,
    test_progress_and_reward_once,
    test_purchases_keep_their_basket_and_source,
    test_restart_loses_nothing,
    test_same_event_id_with_other_content_is_a_conflict,
    test_the_first_answer_served_is_kept_and_survives_a_restart,
)
from tests.redis_servers import LocalCluster

pytestmark = pytest.mark.cluster
BUCKETS = 8

__all__ = [  # collected again here, against the cluster
    "test_a_purchase_that_earns_nothing_is_kept_but_never_completes",
    "test_a_signal_id_with_other_content_is_a_conflict",
    "test_bad_purchase_events_are_refused",
    "test_changed_challenge_in_a_week_is_a_conflict",
    "test_exactly_once_under_duplicates_and_any_order",
    "test_holdout_exposure_counts_without_offer",
    "test_negative_signals_are_kept_once_and_only_an_opt_out_stops_offers",
    "test_opting_in_again_restores_offers_by_the_latest_signal",
    "test_progress_and_reward_once",
    "test_purchases_keep_their_basket_and_source",
    "test_restart_loses_nothing",
    "test_same_event_id_with_other_content_is_a_conflict",
    "test_the_first_answer_served_is_kept_and_survives_a_restart",
]


def cluster_store_config(cluster: LocalCluster, prefix: str) -> RedisStoreConfig:
    """The event store's config for the test cluster."""
    return RedisStoreConfig(
        type="redis", url=cluster.url, cluster=True, buckets=BUCKETS, prefix=prefix, busy_timeout_s=2.0
    )


@pytest.fixture
def make_store(redis_cluster: LocalCluster) -> Iterator[StoreFactory]:
    """Open the event store on the cluster by name; the same name reopens the same data (a restart)."""
    opened: list[EventStore] = []
    run = uuid4().hex

    def factory(name: str) -> EventStore:
        config = cluster_store_config(redis_cluster, f"test-exp:{run}:{name}")
        store = RedisEventStore.connect(config, config.prefix, config.busy_timeout_s)
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()


def test_another_bucket_count_is_refused(redis_cluster: LocalCluster) -> None:
    prefix = f"test-exp:{uuid4().hex}"
    first = cluster_store_config(redis_cluster, prefix)
    RedisEventStore.connect(first, prefix, first.busy_timeout_s).close()
    other = first.model_copy(update={"buckets": BUCKETS * 2})
    with pytest.raises(ConfigError, match=rf"buckets = {BUCKETS}, this config has buckets = {BUCKETS * 2}"):
        RedisEventStore.connect(other, prefix, other.busy_timeout_s)
