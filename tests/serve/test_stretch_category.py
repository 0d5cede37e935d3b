"""The stretch pick is a category, over real HTTP (issue 11, item 2): any product of the stretch category
bought in the week counts, its category read from the catalog of the model version that issued the
challenge (never from the till); the reward is issued exactly once; on both event stores."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.experiments.definition import ExperimentDefinition
from engine.experiments.protocol import EventStore
from engine.experiments.store import SqliteEventStore
from engine.serve.app import create_app
from engine.serve.experiment_config import ExperimentsServeConfig
from engine.serve.settings import Settings
from tests.serve.conftest import N_CATEGORIES, REDIS_URL, LiveServer, delete_prefix, redis_available
from tests.serve.test_experiments import (  # the experiment fixtures are shared with that module
    challenge,
    definition,
    definition_path,
    events_db,
    experiment_settings,
    member_in,
    post_events,
    purchase,
)

__all__ = ["definition", "definition_path", "events_db"]
Json = dict[str, Any]
N_ITEMS = 40  # make_artifact's catalog: item i is in category CAT{i % N_CATEGORIES}


def category_of(item: int) -> str:
    """The category of ``item`` in make_artifact's catalog."""
    return f"CAT{item % N_CATEGORIES}"


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def served(
    request: pytest.FixtureRequest,
    artifact_root: Path,
    rules_path: Path,
    definition_path: Path,
    events_db: Path,
) -> Iterator[tuple[LiveServer, EventStore]]:
    """A server running the experiment on a SQLite or a Redis event store, and that store."""
    settings: Settings = experiment_settings(artifact_root, rules_path, definition_path, events_db)
    if request.param == "sqlite":
        with LiveServer(create_app(settings)) as live, SqliteEventStore(events_db) as store:
            yield live, store
        return
    if not redis_available():
        pytest.skip("no Redis on 127.0.0.1:6379")
    from engine.experiments.redis_store import RedisEventStore

    prefix = f"test-serve-stretch-{uuid.uuid4().hex[:12]}"
    assert settings.experiments is not None
    events = {"type": "redis", "url": REDIS_URL, "prefix": prefix, "busy_timeout_s": 5.0}
    raw = {**settings.experiments.model_dump(), "store": events}
    settings = settings.model_copy(update={"experiments": ExperimentsServeConfig.model_validate(raw)})
    try:
        with LiveServer(create_app(settings)) as live, RedisEventStore.from_url(REDIS_URL, prefix) as store:
            yield live, store
    finally:
        delete_prefix(REDIS_URL, prefix)


def test_any_product_of_the_stretch_category_counts_and_the_reward_is_issued_once(
    served: tuple[LiveServer, EventStore], definition: ExperimentDefinition
) -> None:
    live, store = served
    member = member_in(definition, "recommender")
    body = challenge(live, member)
    first, second = (h["item_id"] for h in body["habitual"])
    salad, suggested = body["stretch"]["category"], body["stretch"]["item_id"]
    other = next(i for i in range(1, N_ITEMS + 1) if category_of(i) == salad and i != suggested)
    taken = {category_of(first), category_of(second), salad}
    elsewhere = next(i for i in range(1, N_ITEMS + 1) if category_of(i) not in taken)

    # Another category does not count, whatever category the till claims for it.
    lying = {**purchase("z", member, elsewhere), "category": salad}
    answer = post_events(live, [lying, purchase("unknown", member, 999_999)])
    (progress,) = answer["progress"]
    stretch = progress["picks"][2]
    assert (stretch["kind"], stretch["category"], stretch["item_id"]) == ("stretch", salad, str(suggested))
    assert (stretch["bought"], stretch["bought_item_id"]) == (False, None)
    # An item the catalog does not know counts for nothing, and the answer says so.
    assert [(n["event_id"], n["reason"]) for n in answer["not_counted"]] == [("unknown", "unknown_item")]
    assert answer["accepted"] == 2  # kept as the member's spend

    # Another product of the stretch category counts for the stretch pick.
    (progress,) = post_events(live, [purchase("y", member, other)])["progress"]
    assert [p["bought"] for p in progress["picks"]] == [False, False, True]
    assert progress["picks"][2]["bought_item_id"] == str(other)
    assert [p["kind"] for p in progress["picks"]] == ["habitual", "habitual", "stretch"]
    assert challenge(live, member)["progress"] == progress

    (done,) = post_events(live, [purchase("h1", member, first), purchase("h2", member, second)])["progress"]
    assert (done["completed"], done["reward_issued"], done["reward_issued_now"]) == (True, True, True)
    (again,) = post_events(live, [purchase("y", member, other), purchase("s", member, suggested)])["progress"]
    assert (again["reward_issued"], again["reward_issued_now"]) == (True, False)
    assert again["picks"][2]["bought_item_id"] == str(suggested)  # the suggested product, once bought
    assert list(store.table("rewards")["member_id"]) == [str(member)]
    assert list(store.table("challenges")["stretch_category"]) == [salad]


def test_category_purchases_before_the_challenge_is_issued_count(
    served: tuple[LiveServer, EventStore], definition: ExperimentDefinition
) -> None:
    """Nothing issued yet: the current version's catalog classifies them, and the issuance rewards once."""
    live, store = served
    member = member_in(definition, "recommender", skip=3)
    habitual = [1 + (member + k) % N_ITEMS for k in range(3)]  # make_artifact's habitual candidates
    mine = {category_of(i) for i in habitual}
    # The last product of every other category: never a suggested one (those are the first of theirs).
    others = [
        max(i for i in range(1, N_ITEMS + 1) if category_of(i) == c)
        for c in sorted({category_of(i) for i in range(1, N_ITEMS + 1)} - mine)
    ]
    early = [purchase(f"pre-{i}", member, item) for i, item in enumerate([*habitual, *others])]
    assert post_events(live, early)["not_counted"] == []
    body = challenge(live, member)
    assert body["stretch"]["item_id"] not in others
    stretch = body["progress"]["picks"][2]
    assert (stretch["category"], stretch["bought"]) == (body["stretch"]["category"], True)
    assert int(stretch["bought_item_id"]) in others
    assert (body["progress"]["completed"], body["progress"]["reward_issued_now"]) == (True, True)
    assert challenge(live, member)["progress"]["reward_issued_now"] is False
    assert list(store.table("rewards")["member_id"]) == [str(member)]
