"""No price from the challenge week or later reaches a model trained at that cutoff.

Catalog prices derived from transactions used to be medians over every week of the data, so a backtest
at cutoff c was priced with weeks >= c. Here the prices of weeks >= c are tripled: nothing in the data
cut at c, nor in the artifact built at c, may change.
"""

from __future__ import annotations

import pandas as pd

from engine.data.assemble import RawTables, assemble
from engine.data.config import DataConfig
from engine.data.margins import MarginsConfig
from engine.data.schema import Dataset
from engine.data.synthetic import SyntheticConfig, iter_synthetic, synthetic_catalog
from engine.data.tiers import load_tiers_config
from engine.train.candidates import build_candidates
from engine.train.config import TrainConfig

CUTOFF = 14
N_MEMBERS, N_ITEMS, N_WEEKS, SEED = 150, 120, 18, 5


def _raw(later_price_factor: float) -> RawTables:
    """Synthetic lines with a loyalty discount, a catalog without prices, later weeks re-priced."""
    parts = list(iter_synthetic(N_MEMBERS, N_ITEMS, N_WEEKS, SEED))
    tx = pd.concat([p[0] for p in parts], ignore_index=True)
    members = pd.concat([p[1] for p in parts], ignore_index=True)
    # every third line carries a loyalty discount of a fifth of its regular price
    tx["retail_disc"] = (tx["sales_value"] * 0.25).where(tx.index % 3 == 0, 0.0).round(2)
    later = tx["week"] >= CUTOFF
    tx.loc[later, ["sales_value", "retail_disc"]] *= later_price_factor
    catalog = synthetic_catalog(N_ITEMS, SEED).drop(columns=["price"])
    where = {"transactions": "tx", "catalog": "catalog", "members": "members"}
    return RawTables(tx, catalog, members, where, "synthetic-priced")


def _dataset(later_price_factor: float) -> Dataset:
    config = DataConfig(week_start=SyntheticConfig().week_start)
    return assemble(_raw(later_price_factor), config, MarginsConfig(default=0.25), load_tiers_config())


def test_cut_data_prices_ignore_later_weeks() -> None:
    same, tripled = _dataset(1.0), _dataset(3.0)
    # the full data sees the change (the test can fail) ...
    assert not same.catalog["price"].equals(tripled.catalog["price"])
    # ... the data as known at the cutoff does not
    pd.testing.assert_frame_equal(same.before_week(CUTOFF).catalog, tripled.before_week(CUTOFF).catalog)


def test_artifact_prices_ignore_later_weeks(fast_config: TrainConfig) -> None:
    same = build_candidates(_dataset(1.0), CUTOFF, fast_config)
    tripled = build_candidates(_dataset(3.0), CUTOFF, fast_config)
    assert len(same.items) > 10
    pd.testing.assert_frame_equal(same.items, tripled.items)
    pd.testing.assert_frame_equal(same.stretch, tripled.stretch)
    pd.testing.assert_frame_equal(same.habitual, tripled.habitual)
