"""Baselines on tiny data: the order they rank in, and a stretch pick is never a bought category."""

from __future__ import annotations

import pandas as pd
import pytest

from engine.artifact import TABLES
from engine.backtest.baselines import (
    cooc_stretch,
    decayed_habitual,
    popular_stretch,
    random_stretch,
    topfreq_habitual,
)
from engine.backtest.history import CategoryStats, category_stats, check_before, with_category
from engine.errors import DataValidationError
from tests.backtest.conftest import make_transactions

CUTOFF = 11


def _habits() -> pd.DataFrame:
    rows = [
        # member 1: milk in 3 early baskets, bread in 2 recent ones, salad once, fuel in 4 baskets
        (1, 1, 1, 1, 2.0),
        (1, 1, 2, 2, 2.0),
        (1, 1, 3, 3, 2.0),
        (1, 2, 4, 9, 3.0),
        (1, 2, 5, 10, 3.0),
        (1, 3, 5, 10, 4.0),
        (1, 6, 1, 1, 30.0),
        (1, 6, 2, 2, 30.0),
        (1, 6, 3, 3, 30.0),
        (1, 6, 4, 9, 30.0),
    ]
    return make_transactions(rows)


def test_topfreq_ranks_by_baskets_and_skips_rare_and_excluded(catalog: pd.DataFrame) -> None:
    table = topfreq_habitual(_habits(), catalog, CUTOFF, k=5, min_baskets=2)
    assert tuple(table.columns) == TABLES["habitual"]
    assert table["item_id"].tolist() == [1, 2]
    assert table["rank"].tolist() == [1, 2]
    assert table["n_baskets"].tolist() == [3, 2]
    assert table["last_week"].tolist() == [3, 10]
    # milk bought in 3 of the 10 observed weeks
    assert table["score"].iloc[0] == pytest.approx(0.3)


def test_decayed_prefers_recent_habits(catalog: pd.DataFrame) -> None:
    table = decayed_habitual(_habits(), catalog, CUTOFF, k=5, min_baskets=2, half_life_weeks=2.0)
    assert table["item_id"].tolist() == [2, 1]
    assert table["score"].between(0, 1).all()
    # with a very long half-life the decayed order falls back to plain frequency
    flat = decayed_habitual(_habits(), catalog, CUTOFF, k=5, min_baskets=2, half_life_weeks=1e6)
    assert flat["item_id"].tolist() == [1, 2]
    assert flat["score"].iloc[0] == pytest.approx(0.3, rel=1e-3)


def test_k_limits_candidates(catalog: pd.DataFrame) -> None:
    assert len(topfreq_habitual(_habits(), catalog, CUTOFF, k=1, min_baskets=2)) == 1


def test_late_rows_are_refused(catalog: pd.DataFrame) -> None:
    late = pd.concat([_habits(), make_transactions([(1, 1, 99, CUTOFF, 2.0)])])
    with pytest.raises(DataValidationError, match="week >= as_of_week 11"):
        topfreq_habitual(late, catalog, CUTOFF, k=5, min_baskets=2)
    with pytest.raises(DataValidationError, match="1 transaction rows"):
        check_before(late, CUTOFF, "test")


def _categories() -> pd.DataFrame:
    rows = []
    basket = 0
    # members 1-6 all buy dairy from week 1; produce adopted by 3 of them in the lookback,
    # bakery by one; member 1 also buys deli early. Fuel is excluded everywhere.
    for member in range(1, 7):
        basket += 1
        rows.append((member, 1, basket, 1, 2.0))
        rows.append((member, 6, basket, 1, 30.0))
    for member in (2, 3, 4):
        basket += 1
        rows.append((member, 3, basket, 9, 4.0))
    basket += 1
    rows.append((5, 2, basket, 9, 3.0))
    basket += 1
    rows.append((1, 5, basket, 2, 10.0))
    rows.append((1, 3, basket, 2, 4.0))
    return make_transactions(rows)


@pytest.fixture
def stats(catalog: pd.DataFrame) -> CategoryStats:
    tx = with_category(_categories(), catalog)
    return category_stats(tx, CUTOFF, lookback_weeks=4)


def test_adoption_hazard(stats: CategoryStats) -> None:
    # produce: 5 members had not bought it before week 7; 3 adopted over 4 weeks
    assert stats.adoption["PRODUCE"] == pytest.approx(3 / (5 * 4))
    assert stats.adoption["BAKERY"] == pytest.approx(1 / (6 * 4))
    assert stats.adoption["DELI"] == 0.0
    assert "FUEL" not in stats.eligible  # only excluded items: nothing to suggest
    assert stats.suggested_item["PRODUCE"] == 3


@pytest.mark.parametrize("kind", ["popular", "cooc", "random"])
def test_stretch_is_never_a_bought_or_unofferable_category(
    stats: CategoryStats, catalog: pd.DataFrame, kind: str
) -> None:
    if kind == "popular":
        table = popular_stretch(stats, catalog, k=5)
    elif kind == "cooc":
        table = cooc_stretch(stats, catalog, k=5)
    else:
        table = random_stretch(stats, catalog, k=5, seed=1)
    assert tuple(table.columns) == TABLES["stretch"]
    bought = set(map(tuple, stats.member_categories[["member_id", "category"]].to_numpy().tolist()))
    offered = set(map(tuple, table[["member_id", "category"]].to_numpy().tolist()))
    assert not offered & bought
    assert "FUEL" not in set(table["category"])
    assert table["score"].between(0, 1).all()
    assert (table.groupby("member_id")["rank"].min() == 1).all()


def test_popular_orders_by_adoption(stats: CategoryStats, catalog: pd.DataFrame) -> None:
    table = popular_stretch(stats, catalog, k=5)
    member6 = table[table["member_id"] == 6].sort_values("rank")
    assert member6["category"].tolist() == ["PRODUCE", "BAKERY", "DELI"]
    # expected margin = score x unit margin of the suggested salad (4.0 x 0.5)
    assert member6["expected_margin"].iloc[0] == pytest.approx(3 / 20 * 2.0)


def test_random_is_seeded(stats: CategoryStats, catalog: pd.DataFrame) -> None:
    a = random_stretch(stats, catalog, k=1, seed=7)
    b = random_stretch(stats, catalog, k=1, seed=7)
    pd.testing.assert_frame_equal(a, b)


def test_cooc_follows_the_members_own_categories(catalog: pd.DataFrame) -> None:
    rows = [(m, 1, m, 1, 2.0) for m in range(1, 11)]  # everyone buys dairy
    rows += [(m, 3, 100 + m, 8, 4.0) for m in range(1, 6)]  # produce: popular with new buyers
    rows += [(m, 5, 200 + m, 1, 10.0) for m in (6, 7, 8)]  # deli buyers ...
    rows += [(m, 2, 300 + m, 8, 3.0) for m in (6, 7)]  # ... take up bakery
    stats = category_stats(with_category(make_transactions(rows), catalog), CUTOFF, lookback_weeks=4)
    member8 = {
        kind: table[table["member_id"] == 8].sort_values("rank")["category"].tolist()
        for kind, table in (
            ("popular", popular_stretch(stats, catalog, k=5)),
            ("cooc", cooc_stretch(stats, catalog, k=5)),
        )
    }
    assert member8["popular"][0] == "PRODUCE"
    assert member8["cooc"][0] == "BAKERY"
    cooc = cooc_stretch(stats, catalog, k=5).set_index(["member_id", "category"])["score"]
    # hazard 2/40 x mean lift over dairy (1) and deli ((2/3) / (2/10))
    assert cooc[(8, "BAKERY")] == pytest.approx(2 / 40 * (1 + (2 / 3) / (2 / 10)) / 2)
