"""Issuance and purchases through real HTTP with both Redis stores on a three-node Redis Cluster."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from engine.experiments.definition import ExperimentDefinition
from engine.experiments.redis_store import RedisEventStore
from engine.serve.app import create_app
from engine.serve.experiment_config import ExperimentsServeConfig
from tests.redis_servers import LocalCluster
from tests.serve.conftest import WEEK, LiveServer
from tests.serve.test_experiments import (
    MEMBERS,
    challenge,
    concurrent_first_requests,
    definition,  # noqa: F401 (fixture)
    definition_path,  # noqa: F401 (fixture)
    experiment_settings,
    member_in,
    picks,
    post_events,
    purchase,
)

pytestmark = pytest.mark.cluster
BUCKETS = 8


def test_issuance_and_purchases_on_a_redis_cluster(
    redis_cluster: LocalCluster,
    artifact_root: Path,
    rules_path: Path,
    definition_path: Path,  # noqa: F811
    definition: ExperimentDefinition,  # noqa: F811
) -> None:
    prefix = f"test-cluster-http-{uuid.uuid4().hex[:12]}"
    store = {
        "type": "redis",
        "url": redis_cluster.url,
        "cluster": True,
        "buckets": BUCKETS,
        "key_prefix": prefix,
    }
    settings = experiment_settings(
        artifact_root, rules_path, definition_path, Path("unused"), "NORMAL", "inline", store=store
    )
    assert settings.experiments is not None
    events = {
        "type": "redis",
        "url": redis_cluster.url,
        "cluster": True,
        "buckets": BUCKETS,
        "prefix": f"{prefix}:exp",
        "busy_timeout_s": 5.0,
    }
    raw = {**settings.experiments.model_dump(), "store": events}
    settings = settings.model_copy(update={"experiments": ExperimentsServeConfig.model_validate(raw)})
    with LiveServer(create_app(settings)) as live:
        bodies = concurrent_first_requests(live)
        assert all(len(b) == 2 and b[0] == b[1] for b in bodies.values()), "one challenge per member-week"
        assert {b[0]["model_version"] for b in bodies.values()} == {"v1"}

        member = member_in(definition, "recommender")
        first, second, third = picks(bodies[member][0])
        post_events(live, [purchase("c1", member, first), purchase("c3", member, third)])
        done = post_events(live, [purchase("c2", member, second)])["progress"][0]
        assert (done["completed"], done["reward_issued_now"]) == (True, True)
        again = post_events(live, [purchase("c2", member, second)])["progress"][0]
        assert (again["reward_issued"], again["reward_issued_now"]) == (True, False)

        with live.client() as client:
            counters = client.get("/v1/admin/counters").json()["counters"]
            switched = client.post("/v1/admin/models/v2:publish")
        assert sum(v for k, v in counters.items() if k.startswith("status:")) == len(MEMBERS)
        assert switched.status_code == 200, switched.text
        assert challenge(live, 1, WEEK + 1)["model_version"] == "v2"
        assert challenge(live, 1, WEEK) == bodies[1][0], "the week's challenge survives a model switch"

    config = settings.experiments.store
    with RedisEventStore.connect(config, config.prefix, config.busy_timeout_s) as events_store:  # type: ignore[arg-type, union-attr]
        exposures = events_store.table("exposures")
        rewards = events_store.table("rewards")
    this_week = exposures[exposures["week"] == WEEK]
    assert sorted(this_week["member_id"]) == sorted(str(m) for m in MEMBERS)
    assert list(rewards["member_id"]) == [str(member)]
