"""Events: validation, exactly-once rewards under duplicates and reordering, nothing lost on restart."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from uuid import uuid4

import pandas as pd
import pytest

from engine.errors import BadRequest, Conflict
from engine.experiments.assignment import assign_arm
from engine.experiments.definition import ExperimentDefinition
from engine.experiments.events import ChallengeSnapshot, ExposureEvent, OptOutEvent, PurchaseEvent
from engine.experiments.protocol import EventStore
from engine.experiments.service import ingest_purchase, progress_for, record_exposure, to_snapshot
from tests.experiments.conftest import StoreFactory

OFFER = ChallengeSnapshot(item_ids=("11", "12", "13"), reward_cost=2.5)


def _treated_member(definition: ExperimentDefinition) -> int:
    return next(m for m in range(1000) if assign_arm(definition, m) == "recommender")


def _purchase(event_id: str, member: int, item: str, week: int = 10) -> PurchaseEvent:
    return PurchaseEvent(
        event_id=event_id, member_id=member, item_id=item, week=week, quantity=1, sales_value=3.0
    )


def _events(member: int) -> list[PurchaseEvent]:
    return [
        _purchase("p1", member, "11"),
        _purchase("p2", member, "12"),
        _purchase("p3", member, "99"),  # not a pick
        _purchase("p4", member, "13"),
        _purchase("p5", member, "11"),  # a second purchase of a pick
    ]


def test_progress_and_reward_once(definition: ExperimentDefinition, store: EventStore) -> None:
    m = _treated_member(definition)
    p = record_exposure(store, definition, "recommender", m, 10, OFFER)
    assert p.offered
    assert p.bought == 0
    assert not p.completed
    issued = []
    for event in _events(m):
        p = ingest_purchase(store, event)
        issued.append(p.reward_issued_now)
    assert p.completed
    assert p.reward_issued
    assert p.bought == 3
    assert issued == [False, False, False, True, False]
    assert store.counts()["rewards"] == 1
    assert progress_for(store, m, 10) == p.model_copy(update={"reward_issued_now": False})


def test_exactly_once_under_duplicates_and_any_order(
    definition: ExperimentDefinition, make_store: StoreFactory
) -> None:
    m = _treated_member(definition)
    exposure = ExposureEvent(
        event_id="x1",
        experiment=definition.name,
        salt=definition.salt,
        arm="recommender",
        member_id=m,
        week=10,
        challenge=OFFER,
    )
    base: list[object] = [exposure, *_events(m)]
    rng = random.Random(3)
    orders = [list(o) for o in itertools.islice(itertools.permutations(base), 0, 720, 37)]
    for k, order in enumerate(orders):
        stream = order + rng.sample(order, 3)  # and some events twice
        rng.shuffle(stream)
        store = make_store(f"s{k}")
        issued_now = 0
        for event in stream:
            if isinstance(event, ExposureEvent):
                p = store.add_exposure(event)
            else:
                assert isinstance(event, PurchaseEvent)
                p = store.add_purchases([event])[0]
            issued_now += p.reward_issued_now
        assert issued_now == 1
        assert store.counts()["rewards"] == 1
        assert store.counts()["purchases"] == 5
        assert store.progress(m, 10).completed


def test_restart_loses_nothing(definition: ExperimentDefinition, make_store: StoreFactory) -> None:
    m = _treated_member(definition)
    store = make_store("restart")
    record_exposure(store, definition, "recommender", m, 10, OFFER)
    for event in _events(m)[:2]:
        ingest_purchase(store, event)
    store.add_opt_out(OptOutEvent(event_id="o1", member_id=m, week=10))
    before = store.counts()
    store.close()
    store = make_store("restart")
    assert store.counts() == before
    assert store.progress(m, 10).bought == 2
    for event in _events(m):  # the first two again, then the rest
        ingest_purchase(store, event)
    assert store.progress(m, 10).reward_issued
    store.close()
    store = make_store("restart")
    assert store.counts()["rewards"] == 1
    assert store.counts()["purchases"] == 5
    assert store.counts()["opt_outs"] == 1
    exposures = store.table("exposures")
    assert list(exposures["member_id"]) == [str(m)]


def test_holdout_exposure_counts_without_offer(definition: ExperimentDefinition, store: EventStore) -> None:
    m = next(m for m in range(1000) if assign_arm(definition, m) == "holdout")
    p = record_exposure(store, definition, "holdout", m, 10, None)
    assert p.arm == "holdout"
    assert not p.offered
    assert p.picks == ()
    assert store.counts()["exposures"] == 1


def test_the_first_answer_served_is_kept_and_survives_a_restart(
    definition: ExperimentDefinition, make_store: StoreFactory
) -> None:
    m = _treated_member(definition)
    store = make_store("served")
    assert store.served_challenge(m, 10) is None
    first = '{"status":"issued","habitual":[11,12]}'
    record_exposure(store, definition, "recommender", m, 10, OFFER, served=first)
    # A retry of the same exposure (same picks) with another body keeps the first body.
    record_exposure(store, definition, "recommender", m, 10, OFFER, served='{"other":1}')
    other = ChallengeSnapshot(item_ids=("1", "2", "3"), reward_cost=1)
    with pytest.raises(Conflict, match="must not change"):
        record_exposure(store, definition, "recommender", m, 10, other, served='{"changed":1}')
    assert store.served_challenge(m, 10) == first
    assert store.served_challenge(m, 11) is None
    store.close()
    assert make_store("served").served_challenge(str(m), 10) == first


def test_same_event_id_with_other_content_is_a_conflict(store: EventStore) -> None:
    ingest_purchase(store, _purchase("p1", 1, "11"))
    ingest_purchase(store, _purchase("p1", 1, "11"))
    with pytest.raises(Conflict, match="p1"):
        ingest_purchase(store, _purchase("p1", 1, "12"))


def test_changed_challenge_in_a_week_is_a_conflict(
    definition: ExperimentDefinition, store: EventStore
) -> None:
    m = _treated_member(definition)
    record_exposure(store, definition, "recommender", m, 10, OFFER)
    record_exposure(store, definition, "recommender", m, 10, OFFER)
    with pytest.raises(Conflict, match="must not change"):
        record_exposure(
            store,
            definition,
            "recommender",
            m,
            10,
            ChallengeSnapshot(item_ids=("1", "2", "3"), reward_cost=1),
        )
    assert store.counts()["exposures"] == 2


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"member_id": 1, "item_id": 2, "week": 3, "quantity": 1, "sales_value": 1},
            "event_id: Field required",
        ),
        ({"event_id": "e", "member_id": 1, "item_id": 2, "week": 0, "quantity": 1, "sales_value": 1}, "week"),
        (
            {"event_id": "e", "member_id": 1, "item_id": 2, "week": 3, "quantity": -1, "sales_value": 1},
            "quantity",
        ),
        (
            {"event_id": "e", "member_id": " ", "item_id": 2, "week": 3, "quantity": 1, "sales_value": 1},
            "blank",
        ),
        (
            {
                "event_id": "e",
                "member_id": 1,
                "item_id": 2,
                "week": 3,
                "quantity": 1,
                "sales_value": 1,
                "x": 1,
            },
            "x",
        ),
    ],
)
def test_bad_purchase_events_are_refused(store: EventStore, raw: dict[str, object], message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        ingest_purchase(store, raw)


def test_snapshot_from_rules_challenge_shapes() -> None:
    rules_like = {
        "status": "issued",
        "habitual": [{"item_id": 1}, {"item_id": 2}],
        "stretch": {"item_id": 3},
        "reward": {"cash_cost": 1.5},
    }
    assert to_snapshot(rules_like) == ChallengeSnapshot(item_ids=("1", "2", "3"), reward_cost=1.5)
    assert to_snapshot({"status": "no_offer", "habitual": []}) is None
    with pytest.raises(BadRequest, match="reward cost"):
        to_snapshot({"item_ids": [1, 2, 3]})


@pytest.mark.redis
def test_sqlite_and_redis_give_the_same_analysis_tables(
    definition: ExperimentDefinition, tmp_path: Path
) -> None:
    import redis

    from engine.experiments.redis_store import RedisEventStore
    from engine.experiments.store import SqliteEventStore
    from tests.experiments.conftest import REDIS_URL

    prefix = f"test-offers-exp:{uuid4().hex}"
    client = redis.Redis.from_url(REDIS_URL)
    stores: list[EventStore] = [SqliteEventStore(tmp_path / "same.sqlite3"), RedisEventStore(client, prefix)]
    rng = random.Random(9)
    try:
        for store in stores:
            for m in range(40):
                arm = assign_arm(definition, m)
                offer = None if arm == "holdout" else OFFER
                record_exposure(
                    store,
                    definition,
                    arm,
                    m,
                    10,
                    offer,
                    shadow=OFFER if offer is None else None,
                    event_id=f"x{m}",
                )
        events = [
            _purchase(f"p{i}", rng.randrange(40), rng.choice(["11", "12", "13", "14"])) for i in range(300)
        ]
        tables = []
        for store in stores:
            store.add_purchases(events)
            tables.append(
                {
                    t: store.table(t).sort_values(list(store.table(t).columns[:2])).reset_index(drop=True)
                    for t in ("exposures", "challenges", "purchases")
                }
            )
            tables[-1]["rewards"] = (
                store.table("rewards")[["member_id", "week", "reward_cost"]]
                .sort_values("member_id")
                .reset_index(drop=True)
            )
        for name in tables[0]:
            pd.testing.assert_frame_equal(tables[0][name], tables[1][name], check_dtype=False, obj=name)
        assert stores[0].counts() == stores[1].counts()
    finally:
        for store in stores:
            store.close()
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


def test_negative_signals_are_kept_once_and_only_an_opt_out_stops_offers(store: EventStore) -> None:
    """Both stores: each kind recorded (idempotent by id), ``opted_out`` true only after an opt-out."""
    assert store.add_opt_out(OptOutEvent(event_id="u1", member_id=7, week=10, kind="unsubscribe"))
    assert store.add_opt_out(OptOutEvent(event_id="b1", member_id=7, week=10, kind="blocked_notifications"))
    assert not store.opted_out(7)
    assert store.add_opt_out(OptOutEvent(event_id="o1", member_id="7", week=11))
    assert not store.add_opt_out(OptOutEvent(event_id="o1", member_id=7, week=11))  # a resend
    assert store.opted_out(7)
    assert store.opted_out("7")
    assert not store.opted_out(8)
    table = store.table("opt_outs").sort_values("event_id")
    assert list(table["kind"]) == ["blocked_notifications", "opt_out", "unsubscribe"]
    assert store.counts()["opt_outs"] == 3
    assert store.signal_counts(7) == {"unsubscribe": 1, "blocked_notifications": 1, "opt_out": 1}
    assert store.signal_counts("8") == {}


def test_a_signal_id_with_other_content_is_a_conflict(store: EventStore) -> None:
    store.add_opt_out(OptOutEvent(event_id="s1", member_id=7, week=10, kind="unsubscribe"))
    with pytest.raises(Conflict, match="s1"):
        store.add_opt_out(OptOutEvent(event_id="s1", member_id=7, week=10, kind="opt_out"))
    assert not store.opted_out(7)


def test_purchases_keep_their_basket_and_source(store: EventStore) -> None:
    event = PurchaseEvent(
        event_id="t1",
        member_id=7,
        item_id="11",
        week=10,
        quantity=1,
        sales_value=2.0,
        transaction_id="basket-9",
        source="till",
    )
    store.add_purchases([event])
    store.add_purchases([event])  # a resend
    with pytest.raises(Conflict, match="t1"):
        store.add_purchases([event.model_copy(update={"transaction_id": "basket-10"})])
    assert store.counts()["purchases"] == 1


def test_an_event_file_from_before_signal_kinds_is_upgraded(tmp_path: Path) -> None:
    """A SQLite file written before ``kind``/``transaction_id`` existed opens, keeps its rows, and works."""
    import sqlite3

    from engine.experiments.store import SqliteEventStore

    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.executescript(
            """
            CREATE TABLE purchases (event_id TEXT PRIMARY KEY, member_id TEXT NOT NULL, week INTEGER NOT NULL,
                item_id TEXT NOT NULL, quantity REAL NOT NULL, sales_value REAL NOT NULL, ts TEXT);
            CREATE TABLE opt_outs (event_id TEXT PRIMARY KEY, member_id TEXT NOT NULL, week INTEGER NOT NULL,
                ts TEXT);
            INSERT INTO purchases VALUES ('p', '7', 10, '11', 1, 3.0, NULL);
            INSERT INTO opt_outs VALUES ('o', '7', 10, NULL);
            """
        )
    with SqliteEventStore(path) as store:
        assert store.opted_out(7)  # an old row is an opt-out
        store.add_purchases([_purchase("p", 7, "11")])  # the old row again: no conflict
        store.add_opt_out(OptOutEvent(event_id="u", member_id=8, week=10, kind="unsubscribe"))
        assert store.counts()["purchases"] == 1
        assert not store.opted_out(8)


def test_opting_in_again_restores_offers_by_the_latest_signal(store: EventStore) -> None:
    """Getting back must be easy: the latest opt-out or opt-in decides, whatever order they arrive in."""
    monday = datetime(2026, 3, 16, 9, tzinfo=UTC)
    store.add_opt_out(OptOutEvent(event_id="o1", member_id=7, week=11, timestamp=monday))
    later = monday + timedelta(hours=2)
    store.add_opt_out(OptOutEvent(event_id="i1", member_id=7, week=11, kind="opt_in", timestamp=later))
    assert not store.opted_out(7)
    # A late-arriving opt-out made before the opt-in changes nothing ...
    store.add_opt_out(OptOutEvent(event_id="o0", member_id=7, week=11, timestamp=monday - timedelta(days=1)))
    assert not store.opted_out(7)
    # ... one made after it (another time zone, same instant order) opts out again.
    tehran = timezone(timedelta(hours=3, minutes=30))
    store.add_opt_out(
        OptOutEvent(
            event_id="o2", member_id=7, week=11, timestamp=(later + timedelta(minutes=1)).astimezone(tehran)
        )
    )
    assert store.opted_out(7)
    store.add_opt_out(
        OptOutEvent(event_id="i2", member_id=7, week=12, kind="opt_in", timestamp=later + timedelta(days=7))
    )
    assert not store.opted_out(7)


def test_a_purchase_that_earns_nothing_is_kept_but_never_completes(
    definition: ExperimentDefinition, store: EventStore
) -> None:
    """Both stores: a late purchase (``earns=False``) is spend for the analysis, never progress."""
    m = _treated_member(definition)
    record_exposure(store, definition, "recommender", m, 10, OFFER)
    late = [e.model_copy(update={"earns": False}) for e in _events(m)]
    (progress,) = store.add_purchases(late)
    assert (progress.bought, progress.completed, progress.reward_issued) == (0, False, False)
    assert len(store.table("purchases")) == 5
    with pytest.raises(Conflict):  # the same id cannot be resent as earning
        store.add_purchases([_events(m)[0]])
    (progress,) = store.add_purchases([_purchase("fresh", m, "11")])
    assert progress.bought == 1
