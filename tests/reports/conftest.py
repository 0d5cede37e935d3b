"""Hand-made data for the report tests: every number a test checks can be worked out by hand."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import pytest

from engine.data.schema import Dataset
from engine.data.tiers import TiersConfig, TierThresholds
from engine.reports import ReportData, ReportsConfig, load_reports_config

TIERS = TiersConfig(window_weeks=52, thresholds=TierThresholds(silver=100.0, gold=200.0, diamond=400.0))

Line = tuple[int, int, int, int, float]  # member, item, basket, week, sales


def catalog(items: Sequence[tuple[int, str, str, float]]) -> pd.DataFrame:
    """``(item_id, category, department, margin_rate)`` rows as a canonical catalog."""
    return pd.DataFrame(
        {
            "item_id": [i for i, *_ in items],
            "name": [f"item {i}" for i, *_ in items],
            "category": [c for _, c, _, _ in items],
            "department": [d for _, _, d, _ in items],
            "price": 1.0,
            "margin_rate": [m for *_, m in items],
            "excluded": False,
        }
    )


def dataset(lines: Sequence[Line], items: pd.DataFrame, members: Sequence[int] | None = None) -> Dataset:
    """A Dataset from ``(member, item, basket, week, sales)`` lines (quantity 1 each)."""
    tx = pd.DataFrame(lines, columns=["member_id", "item_id", "basket_id", "week", "sales_value"])
    tx["quantity"] = 1.0
    tx["timestamp"] = pd.NaT
    ids = sorted(set(tx["member_id"]) | set(members or ()))
    member_table = pd.DataFrame({"member_id": ids, "tier": "bronze", "spend_52w": 0.0})
    return Dataset(transactions=tx, catalog=items, members=member_table, source="hand-made")


def report_data(
    lines: Sequence[Line],
    items: pd.DataFrame,
    *,
    members: Sequence[int] | None = None,
    demographics: pd.DataFrame | None = None,
    challenges: pd.DataFrame | None = None,
) -> ReportData:
    return ReportData(dataset(lines, items, members), TIERS, demographics, challenges)


@pytest.fixture(scope="session")
def config() -> ReportsConfig:
    """The shipped configs/reports.toml (tests override what they need with ``model_copy``)."""
    return load_reports_config()
