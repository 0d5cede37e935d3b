"""A/B experiments through real HTTP: arms, holdout, exposures, purchase events, progress, restart."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from engine.experiments.assignment import assign_arm
from engine.experiments.definition import ExperimentDefinition, load_definition
from engine.experiments.store import SqliteEventStore
from engine.serve.app import create_app
from engine.serve.experiment import ExperimentRuntime
from engine.serve.experiment_config import ExperimentsServeConfig
from engine.serve.settings import Settings
from tests.serve.conftest import (
    REDIS_URL,
    TILL_KEY,
    WEEK,
    LiveServer,
    delete_prefix,
    make_settings,
    redis_available,
)

Json = dict[str, Any]
EXPERIMENT = "serve_ab"
MEMBERS = range(1, 21)

DEFINITION = f"""
name = "{EXPERIMENT}"
salt = "serve-ab-test"
population = "loyalty_members"
start_week = {WEEK - 1}
end_week = {WEEK + 1}
primary_metric = "net_profit_per_member"

[[arms]]
name = "recommender"
policy = "recommender"
weight = 0.4

[[arms]]
name = "baseline"
policy = "baseline"
weight = 0.3

[[arms]]
name = "holdout"
policy = "holdout"
weight = 0.3
"""


@pytest.fixture
def definition_path(tmp_path: Path) -> Path:
    """The test experiment, running weeks WEEK-1..WEEK+1."""
    path = tmp_path / "experiments" / f"{EXPERIMENT}.toml"
    path.parent.mkdir()
    path.write_text(DEFINITION)
    return path


@pytest.fixture
def definition(definition_path: Path) -> ExperimentDefinition:
    """The parsed test experiment."""
    return load_definition(definition_path)


@pytest.fixture
def events_db(tmp_path: Path) -> Path:
    """Where the experiment event store lives (SQLite)."""
    return tmp_path / "state" / "events.sqlite3"


def calendar_with_current_week(week: int = WEEK) -> dict[str, Any]:
    """A serving calendar on which today falls in ``week`` (purchases count only in a running week)."""
    start = dt.datetime.now(dt.UTC).date() - dt.timedelta(weeks=week - 1)
    return {"week1_start": start.isoformat(), "min_week": 1, "max_week": 5200}


def week_start(week: int) -> dt.datetime:
    """When ``week`` starts on :func:`calendar_with_current_week`'s calendar."""
    today = dt.datetime.now(dt.UTC).date()
    origin = dt.datetime.combine(today - dt.timedelta(weeks=WEEK - 1), dt.time(), tzinfo=dt.UTC)
    return origin + dt.timedelta(weeks=week - 1)


def experiment_settings(
    artifact_root: Path,
    rules_path: Path,
    definition: Path,
    db: Path,
    synchronous: str = "FULL",
    exposure_writes: str = "thread",
    **overrides: Any,
) -> Settings:
    """Test settings with the experiment, a SQLite event store at ``db``, and WEEK the current week."""
    store = {"type": "sqlite", "path": str(db), "synchronous": synchronous, "busy_timeout_s": 5.0}
    overrides.setdefault("calendar", calendar_with_current_week())
    return make_settings(
        artifact_root,
        rules_path,
        experiments={
            "definitions": [str(definition)],
            "store": store,
            "max_events": 50,
            "progress_cache_entries": 1000,
            "exposure_writes": exposure_writes,
        },
        **overrides,
    )


@pytest.fixture
def exp_settings(artifact_root: Path, rules_path: Path, definition_path: Path, events_db: Path) -> Settings:
    """Settings with the experiment configured."""
    return experiment_settings(artifact_root, rules_path, definition_path, events_db)


@pytest.fixture
def exp_live(exp_settings: Settings) -> Iterator[LiveServer]:
    """A server running the experiment."""
    with LiveServer(create_app(exp_settings)) as server:
        yield server


def get(live: LiveServer, path: str, **params: Any) -> Json:
    """GET, asserting 200."""
    with live.client() as client:
        r = client.get(path, params=params)
    assert r.status_code == 200, r.text
    body: Json = r.json()
    return body


def challenge(live: LiveServer, member: int, week: int = WEEK) -> Json:
    """The member's challenge answer."""
    return get(live, f"/v1/members/{member}/challenge", week=week)


def concurrent_first_requests(
    live: LiveServer, members: Sequence[int] = MEMBERS, times: int = 2
) -> dict[int, list[Json]]:
    """Each member's challenge asked ``times`` times at once (every request released by one barrier)."""
    bodies: dict[int, list[Json]] = {m: [] for m in members}
    barrier = threading.Barrier(len(members) * times)

    def first_request(member: int) -> None:
        barrier.wait()
        bodies[member].append(challenge(live, member))

    threads = [threading.Thread(target=first_request, args=(m,)) for m in list(members) * times]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return bodies


def member_in(definition: ExperimentDefinition, arm: str, skip: int = 0) -> int:
    """A member of the test artifact assigned to ``arm``."""
    found = [m for m in MEMBERS if assign_arm(definition, m) == arm]
    assert len(found) > skip, f"no member {skip} in arm {arm}"
    return found[skip]


def purchase(event_id: str, member: int, item: Any, when: dt.datetime | None = None) -> Json:
    """One purchase line from the till, made ``when`` (default: now, in the current week WEEK)."""
    when = dt.datetime.now(dt.UTC) if when is None else when
    return {
        "event_id": event_id,
        "transaction_id": f"basket-{event_id}",
        "member_id": member,
        "item_id": item,
        "timestamp": when.isoformat(),
        "quantity": 1,
        "sales_value": 3.0,
    }


def post_events(live: LiveServer, events: list[Json]) -> Json:
    """POST purchase events with the till's key, asserting 200."""
    with live.client(TILL_KEY) as client:
        r = client.post("/v1/events/purchases", json={"events": events})
    assert r.status_code == 200, r.text
    body: Json = r.json()
    return body


def picks(body: Json) -> list[Any]:
    """The challenge's three pick item ids."""
    return [h["item_id"] for h in body["habitual"]] + [body["stretch"]["item_id"]]


def test_answers_are_stamped_with_a_sticky_arm(
    exp_live: LiveServer, definition: ExperimentDefinition
) -> None:
    first = {m: challenge(exp_live, m) for m in MEMBERS}
    for member, body in first.items():
        assert body["experiment"] == EXPERIMENT
        assert body["arm"] == assign_arm(definition, member)
        assert challenge(exp_live, member) == body  # stable and sticky
        assert body["progress"]["arm"] == body["arm"]
    assert {b["arm"] for b in first.values()} == {"recommender", "baseline", "holdout"}
    for body in first.values():
        if body["arm"] == "holdout":
            assert (body["status"], body["reason_code"]) == ("no_offer", "holdout")
            assert body["progress"]["offered"] is False
        else:
            assert body["status"] == "issued", body["reason"]
            assert body["progress"]["offered"] is True
            assert [p["item_id"] for p in body["progress"]["picks"]] == [str(i) for i in picks(body)]
    outside = challenge(exp_live, 1, week=WEEK + 5)
    assert (outside["experiment"], outside["arm"], outside["progress"]) == (None, None, None)
    assert outside["status"] == "issued"


def test_baseline_takes_the_most_bought_products_under_the_rules(
    exp_live: LiveServer, definition: ExperimentDefinition
) -> None:
    member = member_in(definition, "baseline")
    body = challenge(exp_live, member)
    # make_artifact: equal n_baskets, so the model's order stands; the popular category CAT0 comes first
    # unless the member already bought in it.
    mine = [1 + (member + k) % 40 for k in range(3)]
    assert [h["item_id"] for h in body["habitual"]] == mine[:2]
    bought = {f"CAT{i % 8}" for i in mine}
    if "CAT0" not in bought:
        assert body["stretch"]["category"] == "CAT0"


def test_holdout_is_exposed_with_its_shadow_and_exposures_are_recorded_once(
    exp_live: LiveServer, definition: ExperimentDefinition, events_db: Path
) -> None:
    held = member_in(definition, "holdout")
    treated = member_in(definition, "recommender")
    for member in (held, treated, held, treated):
        challenge(exp_live, member)
    with SqliteEventStore(events_db) as store:
        exposures = store.table("exposures")
        served = store.table("challenges").set_index("member_id")
    assert sorted(exposures["member_id"]) == sorted([str(held), str(treated)])
    assert served.loc[str(held), "arm"] == "holdout"
    assert served.loc[str(held), "shown"] == 0
    assert served.loc[str(held), "item_ids"] is not None  # the shadow: what the holdout would have had
    assert served.loc[str(treated), "shown"] == 1


def test_concurrent_first_requests_record_one_exposure(
    exp_live: LiveServer, definition: ExperimentDefinition, events_db: Path
) -> None:
    member = member_in(definition, "recommender", skip=1)
    bodies = concurrent_first_requests(exp_live, [member], times=12)[member]
    assert len(bodies) == 12
    assert all(b == bodies[0] for b in bodies)
    with SqliteEventStore(events_db) as store:
        exposures = store.table("exposures")
    assert list(exposures["member_id"]) == [str(member)]


def test_purchases_complete_the_challenge_and_issue_the_reward_once(
    exp_live: LiveServer, definition: ExperimentDefinition, events_db: Path
) -> None:
    member = member_in(definition, "recommender")
    first, second, third = picks(challenge(exp_live, member))
    # Out of order: the stretch pick first, then a duplicate, then an unrelated item.
    answer = post_events(exp_live, [purchase("p3", member, third), purchase("p3", member, third)])
    assert answer["accepted"] == 2
    (progress,) = answer["progress"]
    assert [p["bought"] for p in progress["picks"]] == [False, False, True]
    assert not progress["completed"]
    post_events(exp_live, [purchase("px", member, 999_999), purchase("p1", member, first)])
    shown = challenge(exp_live, member)["progress"]
    assert [p["bought"] for p in shown["picks"]] == [True, False, True]
    assert (shown["completed"], shown["reward_issued"]) == (False, False)

    done = post_events(exp_live, [purchase("p2", member, second)])["progress"][0]
    assert (done["completed"], done["reward_issued"], done["reward_issued_now"]) == (True, True, True)
    again = post_events(exp_live, [purchase("p2", member, second), purchase("p2b", member, second)])
    assert again["progress"][0]["reward_issued"] is True
    assert again["progress"][0]["reward_issued_now"] is False
    assert challenge(exp_live, member)["progress"]["reward_issued"] is True
    via_route = get(exp_live, f"/v1/members/{member}/progress", week=WEEK)
    assert via_route == challenge(exp_live, member)["progress"]
    with SqliteEventStore(events_db) as store:
        rewards = store.table("rewards")
    assert list(rewards["member_id"]) == [str(member)]


def test_purchases_before_the_challenge_count(exp_live: LiveServer, definition: ExperimentDefinition) -> None:
    member = member_in(definition, "recommender", skip=2)
    habitual = [1 + (member + k) % 40 for k in range(3)]  # make_artifact's habitual candidates
    post_events(exp_live, [purchase(f"early-{i}", member, item) for i, item in enumerate(habitual)])
    body = challenge(exp_live, member)
    assert {h["item_id"] for h in body["habitual"]} <= set(habitual)
    assert [p["bought"] for p in body["progress"]["picks"]] == [True, True, False]


def reward_before_issuance(live: LiveServer, definition: ExperimentDefinition) -> int:
    """Buy everything the challenge can pick, then issue it: the reward comes with the challenge, and
    ``reward_issued_now`` is true in that answer only. Returns the member."""
    member = member_in(definition, "recommender", skip=3)
    # Everything the challenge can pick (make_artifact): the habitual candidates, both stretch
    # candidates and the popular category's item.
    bought = {1 + (member + k) % 40 for k in range(3)}
    categories = {f"CAT{i % 8}" for i in bought}
    bought |= {i for i in range(1, 41) if f"CAT{i % 8}" not in categories}
    early = post_events(live, [purchase(f"pre-{i}", member, item) for i, item in enumerate(sorted(bought))])
    assert early["progress"][0]["offered"] is False  # nothing issued yet: nothing to complete
    assert early["progress"][0]["reward_issued_now"] is False
    first = challenge(live, member)
    assert set(picks(first)) <= bought
    shown = first["progress"]
    assert (shown["completed"], shown["reward_issued"], shown["reward_issued_now"]) == (True, True, True)
    again = challenge(live, member)["progress"]
    assert (again["reward_issued"], again["reward_issued_now"]) == (True, False)
    assert get(live, f"/v1/members/{member}/progress", week=WEEK)["reward_issued_now"] is False
    later = post_events(live, [purchase("post-1", member, picks(first)[0])])["progress"][0]
    assert (later["reward_issued"], later["reward_issued_now"]) == (True, False)
    return member


def test_a_reward_earned_before_issuance_is_issued_and_reported_once(
    exp_live: LiveServer, definition: ExperimentDefinition, events_db: Path
) -> None:
    """Issue 12: ``reward_issued_now`` was never true when the purchases came before the challenge."""
    member = reward_before_issuance(exp_live, definition)
    with SqliteEventStore(events_db) as store:
        rewards = store.table("rewards")
    assert list(rewards["member_id"]) == [str(member)]


@pytest.mark.redis
@pytest.mark.parametrize("writes", ["thread", "inline"])
def test_a_reward_earned_before_issuance_with_the_redis_event_store(
    artifact_root: Path,
    rules_path: Path,
    definition_path: Path,
    definition: ExperimentDefinition,
    writes: str,
) -> None:
    """The same on Redis streams: the exposure script issues the reward, in a thread or on the loop."""
    if not redis_available():
        pytest.skip("no Redis on 127.0.0.1:6379")
    from engine.experiments.redis_store import RedisEventStore

    prefix = f"test-serve-events-{uuid.uuid4().hex[:12]}"
    settings = experiment_settings(
        artifact_root, rules_path, definition_path, Path("unused"), "NORMAL", writes
    )
    assert settings.experiments is not None
    events = {"type": "redis", "url": REDIS_URL, "prefix": prefix, "busy_timeout_s": 5.0}
    raw = {**settings.experiments.model_dump(), "store": events}
    settings = settings.model_copy(update={"experiments": ExperimentsServeConfig.model_validate(raw)})
    try:
        with LiveServer(create_app(settings)) as live:
            member = reward_before_issuance(live, definition)
        with RedisEventStore.from_url(REDIS_URL, prefix) as store:
            assert list(store.table("rewards")["member_id"]) == [str(member)]
    finally:
        delete_prefix(REDIS_URL, prefix)


@pytest.mark.parametrize(("synchronous", "writes"), [("FULL", "thread"), ("NORMAL", "inline")])
def test_restart_with_the_same_event_store_loses_nothing(
    artifact_root: Path,
    rules_path: Path,
    definition_path: Path,
    events_db: Path,
    definition: ExperimentDefinition,
    synchronous: str,
    writes: str,
) -> None:
    settings = experiment_settings(artifact_root, rules_path, definition_path, events_db, synchronous, writes)
    member = member_in(definition, "recommender")
    held = member_in(definition, "holdout")
    with LiveServer(create_app(settings)) as live:
        body = challenge(live, member)
        challenge(live, held)
        post_events(live, [purchase(f"r{i}", member, item) for i, item in enumerate(picks(body))])
        before = get(live, f"/v1/members/{member}/progress", week=WEEK)
    assert before["reward_issued"] is True
    with LiveServer(create_app(settings)) as live:
        assert get(live, f"/v1/members/{member}/progress", week=WEEK) == before
        again = challenge(live, member)  # the same challenge, from the embedded store's file
        assert picks(again) == picks(body)
        assert again["progress"] == before
        redo = post_events(live, [purchase("r0", member, picks(body)[0])])["progress"][0]
        assert redo["reward_issued_now"] is False
    with SqliteEventStore(events_db) as store:
        counts = store.counts()
    assert (counts["exposures"], counts["rewards"], counts["purchases"]) == (2, 1, 3)


class CountingStore(SqliteEventStore):
    """The real SQLite store, counting progress reads (to prove repeat reads skip it)."""

    reads = 0

    def progress(self, member_id: int | str, week: int) -> Any:
        """Count, then read."""
        self.reads += 1
        return super().progress(member_id, week)


def test_repeat_reads_do_not_touch_the_event_store(
    settings: Settings, definition: ExperimentDefinition, events_db: Path
) -> None:
    store = CountingStore(events_db)
    runtime = ExperimentRuntime([definition], store, cache_entries=100, max_events=10)
    with LiveServer(create_app(settings, experiments=runtime)) as live:
        for _ in range(5):
            for member in (1, 2, 3):
                challenge(live, member)
        assert store.reads == 0  # first issuances learn progress from the exposure write
        runtime._cache.clear()  # as after a restart
        challenge(live, 1)
        challenge(live, 1)
        assert store.reads == 1
    store.close()


def test_bad_events_are_a_422_naming_field_and_index(exp_live: LiveServer) -> None:
    good = purchase("ok", 1, 5)
    cases = [
        ([good, {**good, "event_id": "b", "quantity": -1}], "events.1.quantity"),
        ([good, good, {k: v for k, v in good.items() if k != "item_id"}], "events.2.item_id"),
        ([{**good, "colour": "red"}], "events.0.colour"),
        ([{**good, "member_id": "a b"}], "events.0.member_id"),
        ([good, {**good, "event_id": "w", "week": 999_999}], "events.1.week"),
    ]
    with exp_live.client(TILL_KEY) as client:
        for events, where in cases:
            r = client.post("/v1/events/purchases", json={"events": events})
            assert r.status_code == 422, (where, r.text)
            assert r.json()["error"] == "BadRequest"
            assert where in r.json()["detail"], r.json()
        assert client.post("/v1/events/purchases", json={"events": []}).status_code == 422
        many = [purchase(f"e{i}", 1, 5) for i in range(51)]
        r = client.post("/v1/events/purchases", json={"events": many})
        assert r.status_code == 422
        assert "at most 50" in r.json()["detail"]
        # Same event id, other content: a conflict, and nothing of the batch is stored.
        post_events(exp_live, [good])
        r = client.post(
            "/v1/events/purchases", json={"events": [purchase("new", 1, 6), {**good, "item_id": 6}]}
        )
        assert r.status_code == 409
    assert get(exp_live, "/v1/members/1/progress", week=WEEK)["member_id"] == "1"


def test_without_experiments_nothing_changes(live: LiveServer) -> None:
    body = challenge(live, 4)
    assert (body["arm"], body["experiment"]) == (None, None)
    assert "progress" not in body
    with live.client(TILL_KEY) as client:
        r = client.post("/v1/events/purchases", json={"events": [purchase("x", 4, 5)]})
        assert r.status_code == 404
        assert "[experiments]" in r.json()["detail"]
        assert client.get("/v1/members/4/progress").status_code == 404


@pytest.mark.redis
def test_a_lost_exposure_write_is_repaired_on_the_next_read(
    artifact_root: Path,
    rules_path: Path,
    definition_path: Path,
    tmp_path: Path,
    definition: ExperimentDefinition,
) -> None:
    """The challenge is in the online store but the event store never heard of it: recorded on read."""
    if not redis_available():
        pytest.skip("no Redis on 127.0.0.1:6379")
    prefix = f"test-serve-{uuid.uuid4().hex[:12]}"
    online = {"type": "redis", "url": REDIS_URL, "key_prefix": prefix}
    member = member_in(definition, "recommender")
    try:
        paths = (artifact_root, rules_path, definition_path)
        first = experiment_settings(*paths, tmp_path / "a.sqlite3", store=online)
        with LiveServer(create_app(first)) as live:
            body = challenge(live, member)
        # Another event store (e.g. one whose write failed): nothing recorded there yet.
        second = experiment_settings(*paths, tmp_path / "b.sqlite3", store=online)
        with LiveServer(create_app(second)) as live, live.client() as client:
            again = challenge(live, member)
            batch = client.post("/v1/challenges:batch", json={"member_ids": [str(member)], "week": WEEK})
        assert again["issued_at"] == body["issued_at"]  # the stored challenge, not a new one
        assert again["progress"]["offered"] is True
        assert [p["item_id"] for p in again["progress"]["picks"]] == [str(i) for i in picks(body)]
        assert batch.json()["challenges"][0]["progress"] == again["progress"]
        with SqliteEventStore(tmp_path / "b.sqlite3") as store:
            assert list(store.table("exposures")["member_id"]) == [str(member)]
    finally:
        delete_prefix(REDIS_URL, prefix)


def test_changed_arms_under_the_same_salt_are_refused_at_start_up(
    exp_settings: Settings, definition_path: Path
) -> None:
    from engine.errors import ExperimentError

    assert exp_settings.experiments is not None
    with LiveServer(create_app(exp_settings)) as live:
        challenge(live, 1)  # the first exposure locks the assignment
    definition_path.write_text(
        DEFINITION.replace("weight = 0.4", "weight = 0.5").replace("0.3\n\n", "0.2\n\n", 1)
    )
    with pytest.raises(ExperimentError, match="CHANGED"):
        ExperimentRuntime.from_config(exp_settings.experiments)


@pytest.mark.redis
def test_redis_event_store_on_the_loop_records_each_exposure_once_and_survives_restart(
    artifact_root: Path, rules_path: Path, definition_path: Path, definition: ExperimentDefinition
) -> None:
    """``exposure_writes = "inline"`` with Redis: writes on the async connection, concurrent members."""
    if not redis_available():
        pytest.skip("no Redis on 127.0.0.1:6379")
    from engine.experiments.redis_store import RedisEventStore

    prefix = f"test-serve-events-{uuid.uuid4().hex[:12]}"
    settings = experiment_settings(
        artifact_root, rules_path, definition_path, Path("unused"), "NORMAL", "inline"
    )
    assert settings.experiments is not None
    events = {"type": "redis", "url": REDIS_URL, "prefix": prefix, "busy_timeout_s": 5.0}
    raw = {**settings.experiments.model_dump(), "store": events}
    settings = settings.model_copy(update={"experiments": ExperimentsServeConfig.model_validate(raw)})
    held = member_in(definition, "holdout")
    try:
        with LiveServer(create_app(settings)) as live:
            bodies = concurrent_first_requests(live)
        assert all(len(b) == 2 and b[0] == b[1] for b in bodies.values())
        assert bodies[held][0]["reason_code"] == "holdout"
        assert bodies[held][0]["progress"]["arm"] == "holdout"
        with RedisEventStore.from_url(REDIS_URL, prefix) as store:
            exposures = store.table("exposures")
        assert sorted(exposures["member_id"]) == sorted(str(m) for m in MEMBERS)
        with LiveServer(create_app(settings)) as live:  # a restart reads progress back from Redis
            member = member_in(definition, "recommender")
            progress = get(live, f"/v1/members/{member}/progress", week=WEEK)
            assert progress == bodies[member][0]["progress"]
    finally:
        delete_prefix(REDIS_URL, prefix)
