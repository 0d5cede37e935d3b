"""Concentration on distributions whose top share, Lorenz curve and Gini are known by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.reports import ReportsConfig, run_report
from engine.reports.concentration import deciles, lorenz, top_share
from tests.reports.conftest import catalog, report_data

ITEMS = catalog([(1, "A", "D", 0.3)])


def test_one_member_makes_all_sales(config: ReportsConfig) -> None:
    # five members, one buys everything; the four others are in the member file without purchases
    data = report_data([(1, 1, 100, 10, 50.0)], ITEMS, members=[1, 2, 3, 4, 5])
    report = run_report("concentration", data, config)
    assert report.numbers["members"] == 5
    assert report.numbers["members_with_purchases"] == 1
    assert report.numbers["top_share_of_sales"] == pytest.approx(1.0)  # ceil(0.2 x 5) = 1 member
    assert report.numbers["gini"] == pytest.approx(0.8)  # (n + 1 - 2 x sum(L)) / n = (6 - 2) / 5


def test_even_spend_has_no_concentration(config: ReportsConfig) -> None:
    lines = [(m, 1, 100 + m, 10, 20.0) for m in range(1, 11)]
    report = run_report("concentration", report_data(lines, ITEMS), config)
    assert report.numbers["top_share_of_sales"] == pytest.approx(0.2)
    assert report.numbers["gini"] == pytest.approx(0.0)
    curve = report.tables["lorenz"]
    np.testing.assert_allclose(curve["sales_share"], curve["member_share"], atol=1e-12)


def test_top_share_of_a_known_distribution() -> None:
    spend = np.arange(1, 11, dtype=float)  # 1..10, total 55
    assert top_share(spend, 0.2) == pytest.approx((10 + 9) / 55)
    assert top_share(spend, 0.25) == pytest.approx((10 + 9 + 8) / 55)  # ceil(2.5) = 3 members
    assert math.isnan(top_share(np.zeros(3), 0.2))


def test_lorenz_and_deciles_of_a_known_distribution() -> None:
    spend = np.array([0.0, 0.0, 10.0, 30.0])
    curve = lorenz(spend, points=5)  # member shares 0, .25, .5, .75, 1
    np.testing.assert_allclose(curve["sales_share"], [0.0, 0.0, 0.0, 0.25, 1.0])
    table = deciles(np.arange(1, 21, dtype=float))  # 20 members, two per decile
    assert table["members"].tolist() == [2] * 10
    assert table.loc[0, "sales"] == pytest.approx(20 + 19)
    assert table["cumulative_share"].iloc[-1] == pytest.approx(1.0)


def test_weeks_outside_the_window_do_not_count(config: ReportsConfig) -> None:
    params = config.concentration.model_copy(update={"weeks": 4})
    short = config.model_copy(update={"concentration": params})
    # member 2's purchase in week 1 is before the 4 weeks before week 11
    data = report_data([(1, 1, 100, 10, 50.0), (2, 1, 101, 1, 500.0)], ITEMS)
    report = run_report("concentration", data, short, cutoff=11)
    assert report.numbers["sales"] == pytest.approx(50.0)
    by_group = report.tables["by_group"]
    tiers = by_group[by_group["grouping"] == "tier"].set_index("group")
    assert tiers["members"].sum() == 2
    assert tiers.loc["bronze", "sales"] == pytest.approx(50.0)
    age = by_group[by_group["grouping"] == "age"].set_index("group")
    assert age.loc["unknown", "share_of_members"] == pytest.approx(1.0)  # no demographics at all
