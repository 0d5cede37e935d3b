"""The files loader reads back what the synthetic writer wrote, as Parquet and as CSV."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from engine.data import schema as s
from engine.data.config import DataConfig
from engine.data.loaders import load_dataset
from engine.data.synthetic import generate_synthetic, write_synthetic


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_round_trip(tmp_path: Path, fmt: str) -> None:
    source = write_synthetic(tmp_path, n_members=60, n_items=80, n_weeks=6, seed=3, format=fmt)  # type: ignore[arg-type]
    loaded = load_dataset(DataConfig(source=source))
    direct = generate_synthetic(60, 80, 6, seed=3)
    pd.testing.assert_frame_equal(loaded.transactions, direct.transactions)
    pd.testing.assert_frame_equal(loaded.members, direct.members)
    # The configured margins file may exclude the synthetic "FUEL" department: same items either way.
    pd.testing.assert_frame_equal(
        loaded.catalog[[s.ITEM_ID, s.NAME, s.CATEGORY, s.DEPARTMENT, s.PRICE]],
        direct.catalog[[s.ITEM_ID, s.NAME, s.CATEGORY, s.DEPARTMENT, s.PRICE]],
    )
    assert loaded.dropped == ()


def test_string_ids_stay_strings(tmp_path: Path) -> None:
    tx = pd.DataFrame(
        {
            "member_id": ["M1", "M2"],
            "item_id": ["SKU-1", "SKU-2"],
            "basket_id": ["B1", "B2"],
            # two formats in one file: the parser must not call the second one invalid
            "timestamp": ["2017-01-02 10:00", "2017-01-09"],
            "quantity": [1, 2],
            "sales_value": [1.5, 3.0],
        }
    )
    catalog = pd.DataFrame(
        {
            "item_id": ["SKU-1", "SKU-2"],
            "category": ["A", "B"],
            "department": ["D", "D"],
            "price": [1.5, 1.5],
            "unit_cost": [1.0, 1.2],
        }
    )
    tx.to_csv(tmp_path / "tx.csv", index=False)
    catalog.to_csv(tmp_path / "cat.csv", index=False)
    config = DataConfig.model_validate(
        {
            "source": {
                "type": "files",
                "format": "csv",
                "transactions": tmp_path / "tx.csv",
                "catalog": tmp_path / "cat.csv",
            }
        }
    )
    ds = load_dataset(config)
    assert ds.transactions[s.ITEM_ID].tolist() == ["SKU-1", "SKU-2"]
    assert pd.api.types.is_string_dtype(ds.transactions[s.MEMBER_ID].dtype)
    assert ds.transactions[s.WEEK].tolist() == [1, 2]
    assert ds.catalog[s.MARGIN_RATE].round(3).tolist() == [0.333, 0.2]  # from unit_cost
    assert ds.catalog[s.NAME].tolist() == ["A", "B"]  # no name column: the category labels the item
