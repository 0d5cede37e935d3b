"""Basket sizes, department mix and pair lift worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from engine.reports import ReportsConfig, run_report
from engine.reports.basket import category_pairs
from tests.reports.conftest import catalog, report_data

ITEMS = catalog([(1, "A", "D1", 0.3), (2, "A", "D1", 0.3), (3, "B", "D2", 0.3), (4, "C", "D3", 0.3)])
# basket 1: A, B; basket 2: A (two items), B; basket 3: A; basket 4: C
LINES = [
    (1, 1, 1, 5, 2.0),
    (1, 3, 1, 5, 1.0),
    (2, 1, 2, 5, 2.0),
    (2, 2, 2, 5, 2.0),
    (2, 3, 2, 5, 1.0),
    (3, 1, 3, 5, 4.0),
    (4, 4, 4, 5, 8.0),
]


def test_pair_lift_support_and_confidence_by_hand() -> None:
    basket = np.array([b for _, _, b, _, _ in LINES])
    category = np.array(ITEMS.set_index("item_id").loc[[i for _, i, *_ in LINES], "category"])
    pairs = category_pairs(basket, category, min_baskets=1)
    assert len(pairs) == 1  # only A and B are ever bought together
    ab = pairs.iloc[0]
    assert (ab["category_a"], ab["category_b"], ab["baskets"]) == ("A", "B", 2)
    # N = 4 baskets, n(A) = 3, n(B) = 2, n(A and B) = 2
    assert ab["support"] == pytest.approx(2 / 4)
    assert ab["confidence_ab"] == pytest.approx(2 / 3)
    assert ab["confidence_ba"] == pytest.approx(2 / 2)
    assert ab["lift"] == pytest.approx((2 / 4) / ((3 / 4) * (2 / 4)))
    assert category_pairs(basket, category, min_baskets=3).empty


def test_basket_report_sizes_and_mix(config: ReportsConfig) -> None:
    params = config.basket.model_copy(update={"min_pair_baskets": 1, "max_size_bin": 3})
    report = run_report("basket", report_data(LINES, ITEMS), config.model_copy(update={"basket": params}))
    sizes = report.tables["basket_sizes"].set_index("label")
    # distinct items per basket: 2, 3, 1, 1 -> sizes 1: 2 baskets, 2: 1, "3+": 1
    assert sizes["baskets"].to_dict() == {"1": 2, "2": 1, "3+": 1}
    assert report.numbers["baskets"] == 4
    assert report.numbers["mean_items"] == pytest.approx(7 / 4)
    mix = report.tables["department_mix"].set_index("department")
    assert mix.loc["D1", "sales"] == pytest.approx(10.0)
    assert mix.loc["D1", "share_of_baskets"] == pytest.approx(3 / 4)
    assert mix.index[0] == "D1"  # by sales: D1 10, D3 8, D2 2
    assert report.tables["category_pairs"]["lift"].iloc[0] == pytest.approx(4 / 3)
