"""Hand-built tiny data sets with known counts, and a fast training config for the train tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.data.schema import CATALOG_COLUMNS, MEMBER_COLUMNS, TRANSACTION_COLUMNS, Dataset
from engine.train.config import LightFMParams, RankerParams, TrainConfig

# item -> (category, department, price, margin_rate, excluded)
CATALOG = {
    1: ("MILK", "DAIRY", 2.0, 0.2, False),
    2: ("MILK", "DAIRY", 2.5, 0.2, False),
    3: ("CHEESE", "DAIRY", 5.0, 0.3, False),
    4: ("BREAD", "BAKERY", 3.0, 0.4, False),
    5: ("CAKE", "BAKERY", 10.0, 0.5, False),
    6: ("TOBACCO", "TOBACCO", 8.0, 0.1, True),
}


def make_dataset(lines: list[tuple[int, int, int, int]]) -> Dataset:
    """A canonical Dataset from ``(member_id, item_id, basket_id, week)`` lines (1 unit at the price)."""
    tx = pd.DataFrame(lines, columns=["member_id", "item_id", "basket_id", "week"]).astype("int64")
    price = tx["item_id"].map({k: v[2] for k, v in CATALOG.items()})
    tx["timestamp"] = pd.Timestamp("2017-01-01") + pd.to_timedelta((tx["week"] - 1) * 7, unit="D")
    tx["quantity"] = 1.0
    tx["sales_value"] = price.astype("float64")
    catalog = pd.DataFrame(
        [(k, f"item {k}", *v) for k, v in CATALOG.items()],
        columns=["item_id", "name", "category", "department", "price", "margin_rate", "excluded"],
    ).astype({"name": "str", "category": "str", "department": "str"})
    ids = np.unique(tx["member_id"])
    members = pd.DataFrame({"member_id": ids, "tier": "bronze", "spend_52w": 0.0}).astype({"tier": "str"})
    return Dataset(
        tx.loc[:, list(TRANSACTION_COLUMNS)],
        catalog.loc[:, list(CATALOG_COLUMNS)],
        members.loc[:, list(MEMBER_COLUMNS)],
        "hand-built",
    )


@pytest.fixture
def tiny_dataset() -> Dataset:
    """Three members over weeks 1-6 with known habits (see the line list)."""
    lines = [
        # member 1: milk (item 1) in weeks 1, 2, 4 (two baskets in week 4), bread once in week 3
        (1, 1, 101, 1),
        (1, 1, 102, 2),
        (1, 4, 103, 3),
        (1, 1, 104, 4),
        (1, 1, 105, 4),
        (1, 6, 105, 4),
        # member 2: cheese and bread weekly, adopts milk in week 5
        *[(2, 3, 200 + w, w) for w in range(1, 6)],
        *[(2, 4, 200 + w, w) for w in range(1, 6)],
        (2, 1, 205, 5),
        # member 3: milk and cake in weeks 2 and 5
        (3, 2, 302, 2),
        (3, 5, 302, 2),
        (3, 2, 305, 5),
        (3, 5, 305, 5),
        (3, 1, 306, 6),
    ]
    return make_dataset(lines)


@pytest.fixture
def fast_config(tmp_path: Path) -> TrainConfig:
    """A small, single-threaded, deterministic config writing under ``tmp_path``."""
    lfm = LightFMParams(no_components=8, epochs=3, warm_start_epochs=1, num_threads=1, random_state=3)
    return TrainConfig(
        lightfm=lfm,
        category_lightfm=lfm,
        ranker=RankerParams(hist_gb={"max_iter": 20}),
        artifact_root=tmp_path / "artifacts",
        progress=False,
        tracking={
            "tracking_uri": f"sqlite:///{tmp_path / 'mlflow.db'}",
            "artifact_location": str(tmp_path / "mlartifacts"),
        },
    )
