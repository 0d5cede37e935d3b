"""Raw baselines on hand-made purchases: every member's two most-bought products and most popular
never-bought category are worked out by hand below."""

from __future__ import annotations

import pandas as pd
import pytest

from engine.backtest.raw import PICK_COLUMNS, category_popularity, raw_challenges
from engine.errors import DataValidationError
from tests.backtest.conftest import make_transactions

CUTOFF = 10
WINDOW = 8  # popularity over weeks 2..9

# Catalog (conftest): 1 milk DAIRY, 2 bread BAKERY, 3 salad PRODUCE, 4 cheese DAIRY, 5 sushi DELI,
# 6 fuel FUEL (excluded), 7 apple PRODUCE, 8 cake BAKERY.
ROWS = [
    # member 1: fuel in 3 baskets; milk and bread in 2 each (bread bought later); cheese 3 lines, 1 basket
    (1, 6, 101, 3, 30.0),
    (1, 6, 102, 4, 30.0),
    (1, 6, 103, 5, 30.0),
    (1, 1, 101, 3, 2.0),
    (1, 1, 102, 4, 2.0),
    (1, 2, 103, 5, 3.0),
    (1, 2, 104, 6, 3.0),
    (1, 4, 104, 6, 5.0),
    (1, 4, 104, 6, 5.0),
    (1, 4, 104, 6, 5.0),
    # member 2: salad only in week 1 (before the popularity window), then milk, sushi, cake
    (2, 3, 201, 1, 4.0),
    (2, 1, 202, 8, 2.0),
    (2, 5, 203, 9, 10.0),
    (2, 8, 204, 9, 6.0),
    # member 3: milk twice, apple once
    (3, 1, 301, 7, 2.0),
    (3, 7, 301, 7, 1.0),
    (3, 1, 302, 9, 2.0),
    # member 4: apple and cake in one basket
    (4, 8, 401, 2, 6.0),
    (4, 7, 401, 2, 1.0),
    # member 5: one product, in week 1 only (not a shopper of the popularity window)
    (5, 7, 501, 1, 1.0),
    # member 6: every category, in week 1 only
    (6, 6, 601, 1, 30.0),
    (6, 1, 601, 1, 2.0),
    (6, 2, 601, 1, 3.0),
    (6, 5, 601, 1, 10.0),
    (6, 3, 601, 1, 4.0),
]


@pytest.fixture
def raw(catalog: pd.DataFrame) -> pd.DataFrame:
    return raw_challenges(make_transactions(ROWS), catalog, CUTOFF, WINDOW).set_index("member_id")


def test_popularity_is_the_share_of_the_windows_shoppers(catalog: pd.DataFrame) -> None:
    # shoppers of weeks 2..9: members 1, 2, 3, 4 (members 5 and 6 bought in week 1 only)
    popularity = category_popularity(make_transactions(ROWS), catalog, CUTOFF, WINDOW)
    assert popularity.to_dict() == {"BAKERY": 0.75, "DAIRY": 0.75, "PRODUCE": 0.5, "DELI": 0.25, "FUEL": 0.25}
    # most popular first, ties by name
    assert list(popularity.index) == ["BAKERY", "DAIRY", "PRODUCE", "DELI", "FUEL"]


def test_two_most_bought_products_by_basket_count(raw: pd.DataFrame) -> None:
    # member 1: fuel (3 baskets; no eligibility filter), then bread over milk (2 baskets each, bread later);
    # cheese's three lines are one basket
    assert (raw.loc[1, "habitual_1"], raw.loc[1, "habitual_2"]) == (6, 2)
    # member 2: one basket each; the latest week first (sushi and cake, week 9), then the smaller id
    assert (raw.loc[2, "habitual_1"], raw.loc[2, "habitual_2"]) == (5, 8)
    assert (raw.loc[3, "habitual_1"], raw.loc[3, "habitual_2"]) == (1, 7)
    assert (raw.loc[4, "habitual_1"], raw.loc[4, "habitual_2"]) == (7, 8)
    assert raw.loc[5, "habitual_1"] == 7
    assert pd.isna(raw.loc[5, "habitual_2"])  # one product only


def test_most_popular_never_bought_category(raw: pd.DataFrame) -> None:
    expected = {
        1: "PRODUCE",  # bought fuel, dairy, bakery
        2: "FUEL",  # produce is more popular, but member 2 bought salad in week 1; fuel is not filtered
        3: "BAKERY",
        4: "DAIRY",
        5: "BAKERY",
    }
    assert {m: raw.loc[m, "stretch_category"] for m in expected} == expected
    assert pd.isna(raw.loc[6, "stretch_category"])  # bought every category


def test_frame_shape(raw: pd.DataFrame) -> None:
    assert ["member_id", *raw.columns] == list(PICK_COLUMNS)
    assert list(raw.index) == [1, 2, 3, 4, 5, 6]
    assert str(raw["habitual_1"].dtype) == "Int64"


def test_rows_at_or_after_the_cutoff_are_refused(catalog: pd.DataFrame) -> None:
    leaked = make_transactions([*ROWS, (3, 5, 399, CUTOFF, 10.0)])
    with pytest.raises(DataValidationError, match="as_of_week 10"):
        raw_challenges(leaked, catalog, CUTOFF, WINDOW)


def test_only_the_popularity_window_counts_for_popularity(catalog: pd.DataFrame) -> None:
    # ten new members buy sushi in week 1, before the window: popularity does not move
    early = [(100 + k, 5, 1000 + k, 1, 10.0) for k in range(10)]
    popularity = category_popularity(make_transactions([*ROWS, *early]), catalog, CUTOFF, WINDOW)
    assert popularity["DELI"] == 0.25
    # the same purchases in week 9 make sushi the most popular (11 of 14 shoppers)
    late = [(100 + k, 5, 1000 + k, 9, 10.0) for k in range(10)]
    popularity = category_popularity(make_transactions([*ROWS, *late]), catalog, CUTOFF, WINDOW)
    assert popularity["DELI"] == pytest.approx(11 / 14)
    assert popularity.index[0] == "DELI"
