"""Weekly sales per department, with the smaller departments summed as OTHER."""

from __future__ import annotations

import pytest

from engine.reports import ReportsConfig, run_report
from tests.reports.conftest import catalog, report_data

ITEMS = catalog([(1, "A", "BIG", 0.3), (2, "B", "MID", 0.3), (3, "C", "SMALL", 0.3), (4, "D", "TINY", 0.3)])
LINES = [
    (1, 1, 1, 1, 100.0),
    (1, 2, 1, 1, 50.0),
    (2, 3, 2, 2, 5.0),
    (2, 4, 2, 2, 1.0),
    (3, 1, 3, 3, 70.0),
    (3, 1, 4, 4, 9.0),  # week 4 is after the cutoff
]


def test_top_departments_and_other(config: ReportsConfig) -> None:
    top2 = config.model_copy(
        update={"weekly_sales": config.weekly_sales.model_copy(update={"top_departments": 2})}
    )
    report = run_report("weekly-sales", report_data(LINES, ITEMS), top2, cutoff=4)
    table = report.tables["by_department"].set_index(["department", "week"])["sales"]
    assert list(dict.fromkeys(report.tables["by_department"]["department"])) == ["BIG", "MID", "OTHER"]
    assert table[("BIG", 1)] == pytest.approx(100.0)
    assert table[("BIG", 2)] == pytest.approx(0.0)  # a week without sales in the department is 0
    assert table[("OTHER", 2)] == pytest.approx(6.0)
    totals = report.tables["weekly_totals"].set_index("week")
    assert totals["sales"].to_dict() == pytest.approx({1: 150.0, 2: 6.0, 3: 70.0})
    assert totals.loc[1, "baskets"] == 1
    assert report.numbers["best_week"] == 1
    assert report.numbers["worst_week"] == 2
