"""Best and worst sellers and the trend, with a minimum volume, on hand-made lines."""

from __future__ import annotations

import numpy as np
import pytest

from engine.reports import ReportsConfig, run_report
from engine.reports.sellers import symmetric_change
from tests.reports.conftest import Line, catalog, report_data

ITEMS = catalog([(1, "A", "D", 0.5), (2, "A", "D", 0.1), (3, "B", "D", 0.2), (4, "B", "D", 0.2)])


def _lines() -> list[Line]:
    lines: list[Line] = []
    basket = 0
    for week in range(1, 21):  # cutoff 21: trend windows are weeks 11-15 (prior) and 16-20 (recent)
        for _ in range(3 if week <= 15 else 6):  # item 1 doubles its baskets in the recent window
            basket += 1
            lines.append((1, 1, basket, week, 2.0))
        basket += 1
        lines.append((2, 2, basket, week, 10.0))  # item 2: best by sales, steady
    basket += 1
    lines.append((3, 3, basket, 12, 1.0))  # item 3: one basket before, three after: big change, no volume
    for week in (17, 18, 19):
        basket += 1
        lines.append((3, 3, basket, week, 1.0))
    basket += 1
    lines.append((4, 4, basket, 20, 0.5))  # item 4: sold once, never a "worst seller"
    return lines


@pytest.fixture
def small(config: ReportsConfig) -> ReportsConfig:
    params = config.sellers.model_copy(
        update={"weeks": 20, "trend_weeks": 5, "min_trend_baskets": 10, "min_active_weeks": 10, "top_n": 3}
    )
    return config.model_copy(update={"sellers": params})


def test_symmetric_change_bounds() -> None:
    got = symmetric_change(np.array([20.0, 0.0, 5.0, 0.0]), np.array([10.0, 5.0, 0.0, 0.0]))
    np.testing.assert_allclose(got, [10 / 15, -2.0, 2.0, 0.0])


def test_sales_margin_and_trend_lists(small: ReportsConfig) -> None:
    report = run_report("sellers", report_data(_lines(), ITEMS), small, cutoff=21)
    best = report.tables["best_by_sales"]
    assert best["item_id"].tolist()[:2] == [2, 1]
    assert best.loc[0, "sales"] == pytest.approx(200.0)
    # item 1: 3 x 15 + 6 x 5 = 75 baskets x 2.0 = 150 sales, margin 0.5 -> 75; item 2: 200 x 0.1 = 20
    assert report.tables["best_by_margin"]["item_id"].tolist()[:2] == [1, 2]
    assert report.tables["best_by_margin"].loc[0, "margin"] == pytest.approx(75.0)
    # worst: only items sold in >= 10 weeks; item 4 (one sale) and item 3 (four weeks) are not ranked
    assert set(report.tables["worst_by_sales"]["item_id"]) == {1, 2}
    assert report.tables["worst_by_sales"]["item_id"].iloc[0] == 1
    # trend: item 1 went from 15 to 30 baskets (60 vs 30 in sales): (60 - 30) / 45; item 3 lacks volume
    rising = report.tables["rising"]
    assert rising["item_id"].tolist() == [1]
    assert rising.loc[0, "trend"] == pytest.approx(30 / 45)
    assert report.tables["falling"].empty
    assert report.numbers["items_ranked_by_trend"] == 2  # items 1 and 2 (steady: trend 0)


def test_lower_volume_bar_lets_small_items_into_the_trend(small: ReportsConfig) -> None:
    params = small.sellers.model_copy(update={"min_trend_baskets": 2})
    report = run_report(
        "sellers", report_data(_lines(), ITEMS), small.model_copy(update={"sellers": params}), cutoff=21
    )
    assert report.tables["rising"]["item_id"].iloc[0] == 3  # 1 -> 3 baskets: (3 - 1) / 2 = 1.0
