"""The stretch pick is a category: any product of it bought in the week counts (issue 11, item 2).

Run against both event stores (SQLite and Redis, the ``store`` fixture). The suggested product is a
hint that counts too; a snapshot stored before categories counted still counts its exact item.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from engine.experiments.assignment import assign_arm
from engine.experiments.definition import ExperimentDefinition
from engine.experiments.events import ChallengeSnapshot, PurchaseEvent
from engine.experiments.protocol import EventStore
from engine.experiments.service import record_exposure, to_snapshot
from engine.experiments.store import SqliteEventStore
from tests.experiments.conftest import StoreFactory

#: Habitual picks 11 (DAIRY) and 12 (BAKERY); the stretch category SALAD with suggested product 13.
SALAD_OFFER = ChallengeSnapshot(item_ids=("11", "12", "13"), reward_cost=2.5, stretch_category="SALAD")
OLD_OFFER = ChallengeSnapshot(item_ids=("11", "12", "13"), reward_cost=2.5)
CATEGORY = {"11": "DAIRY", "12": "BAKERY", "13": "SALAD", "14": "SALAD", "15": "SALAD", "16": "SOUP"}


def _member(definition: ExperimentDefinition) -> int:
    return next(m for m in range(1000) if assign_arm(definition, m) == "recommender")


def _buy(event_id: str, member: int, item: str, *, earns: bool = True) -> PurchaseEvent:
    return PurchaseEvent(
        event_id=event_id,
        member_id=member,
        item_id=item,
        week=10,
        quantity=1,
        sales_value=3.0,
        category=CATEGORY[item],
        earns=earns,
    )


def test_another_product_of_the_stretch_category_counts_and_the_reward_is_issued_once(
    definition: ExperimentDefinition, store: EventStore
) -> None:
    m = _member(definition)
    record_exposure(store, definition, "recommender", m, 10, SALAD_OFFER)
    (p,) = store.add_purchases([_buy("y", m, "14")])  # SALAD, not the suggested 13
    stretch = p.picks[2]
    assert (stretch.kind, stretch.category, stretch.item_id) == ("stretch", "SALAD", "13")
    assert (stretch.bought, stretch.bought_item_id) == (True, "14")
    assert [pick.bought for pick in p.picks] == [False, False, True]
    assert [pick.kind for pick in p.picks[:2]] == ["habitual", "habitual"]
    issued = []
    for event in [_buy("h1", m, "11"), _buy("y", m, "14"), _buy("h2", m, "12"), _buy("z", m, "15")]:
        (p,) = store.add_purchases([event])
        issued.append(p.reward_issued_now)
    assert issued == [False, False, True, False]
    assert (p.completed, p.reward_issued, p.bought) == (True, True, 3)
    assert p.picks[2].bought_item_id == "14"  # the first product of the category bought
    assert store.counts()["rewards"] == 1
    assert store.progress(m, 10) == p.model_copy(update={"reward_issued_now": False})


def test_a_product_of_another_category_does_not_count(
    definition: ExperimentDefinition, store: EventStore
) -> None:
    m = _member(definition)
    record_exposure(store, definition, "recommender", m, 10, SALAD_OFFER)
    (p,) = store.add_purchases([_buy("h1", m, "11"), _buy("h2", m, "12"), _buy("soup", m, "16")])
    assert [pick.bought for pick in p.picks] == [True, True, False]
    assert p.picks[2].bought_item_id is None
    assert (p.completed, p.reward_issued) == (False, False)
    # An item without a category (unknown to the catalog) counts only as itself.
    unknown = _buy("u", m, "15").model_copy(update={"category": None})
    (p,) = store.add_purchases([unknown])
    assert not p.picks[2].bought
    # A late purchase of the category earns nothing either.
    (p,) = store.add_purchases([_buy("late", m, "14", earns=False)])
    assert (p.picks[2].bought, p.completed) == (False, False)
    assert store.counts()["rewards"] == 0


def test_the_suggested_product_still_counts(definition: ExperimentDefinition, store: EventStore) -> None:
    m = _member(definition)
    record_exposure(store, definition, "recommender", m, 10, SALAD_OFFER)
    hint = _buy("s", m, "13").model_copy(update={"category": None})  # even with no category known
    (p,) = store.add_purchases([hint])
    assert (p.picks[2].bought, p.picks[2].bought_item_id) == (True, "13")


def test_category_purchases_before_the_exposure_complete_it_once(
    definition: ExperimentDefinition, make_store: StoreFactory
) -> None:
    """The exposure write issues the reward (the Redis exposure script, SQLite's transaction)."""
    m = _member(definition)
    store = make_store("early")
    (p,) = store.add_purchases([_buy("h1", m, "11"), _buy("h2", m, "12"), _buy("y", m, "15")])
    assert not p.offered
    p = record_exposure(store, definition, "recommender", m, 10, SALAD_OFFER)
    assert (p.completed, p.reward_issued_now, p.picks[2].bought_item_id) == (True, True, "15")
    again = record_exposure(store, definition, "recommender", m, 10, SALAD_OFFER, event_id="again")
    assert again.reward_issued_now is False
    assert store.counts()["rewards"] == 1


def test_an_old_snapshot_without_a_category_counts_only_its_item(
    definition: ExperimentDefinition, store: EventStore
) -> None:
    m = _member(definition)
    record_exposure(store, definition, "recommender", m, 10, OLD_OFFER)
    (p,) = store.add_purchases([_buy("h1", m, "11"), _buy("h2", m, "12"), _buy("y", m, "14")])
    assert p.picks[2].category is None
    assert (p.picks[2].bought, p.completed) == (False, False)
    (p,) = store.add_purchases([_buy("s", m, "13")])
    assert (p.picks[2].bought, p.picks[2].bought_item_id, p.completed) == (True, "13", True)
    assert store.counts()["rewards"] == 1


def test_a_resend_resolved_to_another_category_is_the_same_event(
    definition: ExperimentDefinition, store: EventStore
) -> None:
    """The category is the engine's, not the till's: a resend is not a conflict, the first one stays."""
    m = _member(definition)
    record_exposure(store, definition, "recommender", m, 10, SALAD_OFFER)
    store.add_purchases([_buy("y", m, "14")])
    (p,) = store.add_purchases([_buy("y", m, "14").model_copy(update={"category": None})])
    assert p.picks[2].bought
    assert store.counts()["purchases"] == 1


def test_the_snapshot_takes_the_stretch_category_of_a_served_challenge() -> None:
    served = {
        "status": "issued",
        "habitual": [{"item_id": 1}, {"item_id": 2}],
        "stretch": {"item_id": 3, "category": "SALAD"},
        "reward": {"cash_cost": 1.5},
    }
    assert to_snapshot(served) == ChallengeSnapshot(
        item_ids=("1", "2", "3"), reward_cost=1.5, stretch_category="SALAD"
    )


def test_an_event_file_from_before_categories_is_upgraded(
    definition: ExperimentDefinition, tmp_path: Path
) -> None:
    """A SQLite file whose challenges and purchases have no category opens and counts exact items."""
    path = tmp_path / "old.sqlite3"
    m = str(_member(definition))
    with sqlite3.connect(path) as conn:
        conn.executescript(
            f"""
            CREATE TABLE challenges (
                member_id TEXT NOT NULL, week INTEGER NOT NULL, experiment TEXT NOT NULL,
                salt TEXT NOT NULL, arm TEXT NOT NULL, item_ids TEXT, shown INTEGER NOT NULL,
                reward_cost REAL NOT NULL, PRIMARY KEY (member_id, week));
            CREATE TABLE purchases (event_id TEXT PRIMARY KEY, member_id TEXT NOT NULL,
                week INTEGER NOT NULL, item_id TEXT NOT NULL, quantity REAL NOT NULL,
                sales_value REAL NOT NULL, ts TEXT);
            INSERT INTO challenges VALUES ('{m}', 10, '{definition.name}', '{definition.salt}',
                'recommender', '["11", "12", "13"]', 1, 2.5);
            INSERT INTO purchases VALUES ('h1', '{m}', 10, '11', 1, 3.0, NULL);
            """
        )
    with SqliteEventStore(path) as store:
        (p,) = store.add_purchases([_buy("h2", int(m), "12"), _buy("y", int(m), "14")])
        assert [pick.bought for pick in p.picks] == [True, True, False]
        assert p.picks[2].category is None
        (p,) = store.add_purchases([_buy("s", int(m), "13")])
        assert (p.completed, p.reward_issued_now) == (True, True)
        assert list(store.table("challenges")["stretch_category"]) == [None]


def test_the_analysis_counts_any_product_of_the_stretch_category(
    definition: ExperimentDefinition, tmp_path: Path
) -> None:
    """``stretch_bought`` in the analysis frame agrees with the store's progress."""
    import pandas as pd

    from engine.errors import ExperimentError
    from engine.experiments.frame import member_frame

    salad, soup, old = [m for m in range(1000) if assign_arm(definition, m) == "recommender"][:3]
    catalog = pd.DataFrame(
        {
            "item_id": list(CATEGORY),
            "category": list(CATEGORY.values()),
            "price": [3.0] * len(CATEGORY),
            "margin_rate": [0.3] * len(CATEGORY),
        }
    )
    with SqliteEventStore(tmp_path / "frame.sqlite3") as store:
        for member, offer in ((salad, SALAD_OFFER), (soup, SALAD_OFFER), (old, OLD_OFFER)):
            record_exposure(store, definition, "recommender", member, 10, offer)
        store.add_purchases([_buy("a", salad, "14"), _buy("b", soup, "16"), _buy("c", old, "14")])
        frame = member_frame(store, definition, catalog, pre_period_weeks=0).set_index("member_id")
        assert [store.progress(m, 10).picks[2].bought for m in (salad, soup, old)] == [True, False, False]
        with pytest.raises(ExperimentError, match="category"):
            member_frame(store, definition, catalog.drop(columns="category"), pre_period_weeks=0)
    assert list(frame.loc[[str(salad), str(soup), str(old)], "stretch_bought"]) == [1.0, 0.0, 0.0]
    assert list(frame["stretch_offered"]) == [1.0, 1.0, 1.0]


def test_the_store_and_the_backtest_count_the_stretch_category_alike(
    definition: ExperimentDefinition, store: EventStore
) -> None:
    """The backtest's stretch adoption and natural completion (any product of the category in the
    week) agree with the progress the event store derives from the same purchases."""
    import pandas as pd

    from engine.backtest.member_facing import pick_outcomes
    from engine.data.schema import CATEGORY as CATEGORY_COLUMN
    from engine.data.schema import ITEM_ID, MEMBER_ID, SALES_VALUE, WEEK

    members = [m for m in range(1000) if assign_arm(definition, m) == "recommender"][:4]
    baskets = {
        members[0]: ["11", "12", "14"],  # another SALAD product: adopted, complete
        members[1]: ["11", "12", "16"],  # SOUP: neither
        members[2]: ["15"],  # SALAD only: adopted, not complete
        members[3]: ["11", "12", "13"],  # the suggested product: adopted, complete
    }
    rows = [(m, int(i), 10, 3.0) for m, items in baskets.items() for i in items]
    transactions = pd.DataFrame(rows, columns=[MEMBER_ID, ITEM_ID, WEEK, SALES_VALUE])
    catalog = pd.DataFrame({ITEM_ID: [int(i) for i in CATEGORY], CATEGORY_COLUMN: list(CATEGORY.values())})
    picks = pd.DataFrame(
        {MEMBER_ID: members, "habitual_1": 11, "habitual_2": 12, "stretch_category": "SALAD"}
    )
    backtest = pick_outcomes(picks, transactions, catalog, 10, weeks_after=0, last_week=10)
    for member in members:
        record_exposure(store, definition, "recommender", member, 10, SALAD_OFFER)
    store.add_purchases(
        [_buy(f"{m}-{i}", m, item) for m, items in baskets.items() for i, item in enumerate(items)]
    )
    progress = [store.progress(m, 10) for m in members]
    assert list(backtest["stretch_adoption"]) == [float(p.picks[2].bought) for p in progress]
    assert list(backtest["completion_rate"]) == [float(p.completed) for p in progress]
    assert [p.completed for p in progress] == [True, False, False, True]
