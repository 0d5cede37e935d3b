"""The baselines on the full Complete Journey data: well-formed, leak-free, never a bought category."""

from __future__ import annotations

import pandas as pd
import pytest

from engine.artifact import TABLES
from engine.backtest.baselines import cooc_stretch, decayed_habitual, popular_stretch, topfreq_habitual
from engine.backtest.history import category_stats, with_category
from engine.data.schema import Dataset

CUTOFF = 40


@pytest.mark.slow
def test_baselines_on_complete_journey(cj_dataset: Dataset) -> None:
    train = cj_dataset.before_week(CUTOFF)
    tx, catalog = train.transactions, train.catalog
    excluded = set(catalog.loc[catalog["excluded"], "item_id"])

    for table in (
        topfreq_habitual(tx, catalog, CUTOFF, k=20, min_baskets=2),
        decayed_habitual(tx, catalog, CUTOFF, k=20, min_baskets=2, half_life_weeks=8.0),
    ):
        assert tuple(table.columns) == TABLES["habitual"]
        assert table["member_id"].nunique() > 2000
        assert not set(table["item_id"]) & excluded
        assert (table["last_week"] < CUTOFF).all()
        assert table["score"].between(0, 1).all()

    stats = category_stats(with_category(tx, catalog), CUTOFF, lookback_weeks=8)
    bought = stats.member_categories.assign(bought=True)
    for table in (popular_stretch(stats, catalog, k=10), cooc_stretch(stats, catalog, k=10)):
        assert tuple(table.columns) == TABLES["stretch"]
        joined = table.merge(bought, on=["member_id", "category"], how="left")
        assert joined["bought"].isna().all()
        assert not set(table["suggested_item_id"]) & excluded
        assert table["score"].between(0, 1).all()
        assert pd.notna(table["expected_margin"]).all()
