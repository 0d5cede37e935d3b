"""The baselines on the full Complete Journey data: well-formed, leak-free, never a bought category."""

from __future__ import annotations

from collections import Counter

import pandas as pd
import pytest

from engine.artifact import TABLES
from engine.backtest.baselines import cooc_stretch, decayed_habitual, popular_stretch, topfreq_habitual
from engine.backtest.history import category_stats, with_category
from engine.backtest.member_facing import pick_outcomes
from engine.backtest.raw import raw_challenges
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


@pytest.mark.slow
def test_raw_baselines_and_outcomes_on_complete_journey(cj_dataset: Dataset) -> None:
    """The raw baselines against a plain re-count for a sample of members, and outcomes on week 40."""
    train = cj_dataset.before_week(CUTOFF)
    tx, catalog = train.transactions, train.catalog
    raw = raw_challenges(tx, catalog, CUTOFF, popularity_weeks=8).set_index("member_id")
    assert len(raw) == tx["member_id"].nunique()

    category = catalog.set_index("item_id")["category"]
    window = tx[tx["week"] >= CUTOFF - 8]
    shoppers = window["member_id"].nunique()
    share = window.assign(c=window["item_id"].map(category)).groupby("c")["member_id"].nunique() / shoppers
    for member in raw.sample(25, random_state=1).index:
        mine = tx[tx["member_id"] == member]
        baskets = Counter(dict(mine.groupby("item_id")["basket_id"].nunique()))
        last = mine.groupby("item_id")["week"].max()
        ranked = sorted(baskets, key=lambda i: (-baskets[i], -last[i], i))
        assert [raw.loc[member, "habitual_1"], raw.loc[member, "habitual_2"]] == ranked[:2]
        never = share.drop(set(mine["item_id"].map(category).dropna()), errors="ignore")
        best = never[never == never.max()].index.min()
        assert raw.loc[member, "stretch_category"] == best

    picks = raw.reset_index()
    out = pick_outcomes(picks, cj_dataset.transactions, catalog, CUTOFF, weeks_after=8, last_week=53)
    for column in ("habitual_hit_rate", "stretch_adoption", "completion_rate", "repeat_purchase"):
        values = out[column].dropna()
        assert values.between(0, 1).all()
    both = out[["completion_rate", "stretch_adoption"]].dropna()
    assert len(both) > 2000
    assert (both["completion_rate"] <= both["stretch_adoption"]).all()
    assert out["category_spend"].dropna().ge(0).all()
