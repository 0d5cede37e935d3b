"""Each kind of bad input gives an error naming the file, the column, the row count and examples."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from engine.data.config import ColumnMap, DataConfig, FilesSource, TimestampRange
from engine.data.loaders import load_dataset
from engine.errors import DataValidationError


def _tx() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "member_id": [1, 1, 2, 2],
            "item_id": [10, 11, 10, 12],
            "basket_id": [100, 100, 200, 201],
            "week": [1, 1, 2, 3],
            "timestamp": pd.to_datetime(
                ["2017-01-01 10:00", "2017-01-01 10:00", "2017-01-09 12:00", "2017-01-16"], format="mixed"
            ),
            "quantity": [1.0, 2.0, 1.0, 1.0],
            "sales_value": [2.0, 3.0, 2.0, 5.0],
        }
    )


def _catalog() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": [10, 11, 12],
            "name": ["a", "b", "c"],
            "category": ["MILK", "BREAD", None],
            "department": ["G"] * 3,
        }
    )


def _config(
    tmp_path: Path,
    tx: pd.DataFrame,
    catalog: pd.DataFrame | None = None,
    members: pd.DataFrame | None = None,
    *,
    fmt: str = "csv",
    **kwargs: object,
) -> DataConfig:
    catalog = _catalog() if catalog is None else catalog
    paths = {}
    for name, frame in (("transactions", tx), ("catalog", catalog), ("members", members)):
        if frame is None:
            continue
        paths[name] = tmp_path / f"{name}.{fmt}"
        frame.to_csv(paths[name], index=False) if fmt == "csv" else frame.to_parquet(paths[name])
    source = FilesSource(type="files", format=fmt, **paths)  # type: ignore[arg-type]
    return DataConfig.model_validate({"source": source, **kwargs})


def _error(config: DataConfig) -> str:
    with pytest.raises(DataValidationError) as info:
        load_dataset(config)
    return info.value.message


def test_valid_files_load(tmp_path: Path) -> None:
    ds = load_dataset(_config(tmp_path, _tx()))
    assert len(ds.transactions) == 4
    assert ds.catalog.loc[ds.catalog.item_id == 12, "category"].item() == "G (UNSPECIFIED)"
    assert [d.rows for d in ds.dropped] == [1]  # the filled category, reported


def test_missing_column(tmp_path: Path) -> None:
    msg = _error(_config(tmp_path, _tx().drop(columns="quantity")))
    assert "transactions.csv" in msg
    assert "missing column(s) ['quantity']" in msg


def test_missing_week_and_timestamp_names_both(tmp_path: Path) -> None:
    msg = _error(_config(tmp_path, _tx().drop(columns=["week", "timestamp"])))
    assert "'week'" in msg
    assert "'timestamp'" in msg


def test_wrong_type(tmp_path: Path) -> None:
    tx = _tx().astype({"quantity": object})
    tx.loc[2, "quantity"] = "two"
    msg = _error(_config(tmp_path, tx))
    assert "transactions.csv" in msg
    assert "column 'quantity'" in msg
    assert "1 row(s) cannot be read as float" in msg
    assert "two" in msg


def test_unknown_item_raises_under_error_policy(tmp_path: Path) -> None:
    tx = _tx()
    tx.loc[[1, 3], "item_id"] = 99
    msg = _error(_config(tmp_path, tx, invalid_rows="error"))
    assert "transactions.csv" in msg
    assert "column 'item_id'" in msg
    assert "2 row(s) item not in the catalog" in msg
    assert "99" in msg


def test_unknown_item_reported_and_removed_under_report_policy(tmp_path: Path) -> None:
    tx = _tx()
    tx.loc[[1, 3], "item_id"] = 99
    ds = load_dataset(_config(tmp_path, tx))
    assert len(ds.transactions) == 2
    drop = next(d for d in ds.dropped if d.table == "transactions")
    assert drop.rows == 2
    assert "item not in the catalog" in drop.reason
    assert drop.examples[0].startswith("99")


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("quantity", 0.0, "quantity <= 0"),
        ("quantity", -1.0, "quantity <= 0"),
        ("sales_value", -2.0, "sales_value < 0"),
        ("sales_value", 0.0, "sales_value == 0"),
    ],
)
def test_bad_quantities_and_sales(tmp_path: Path, column: str, value: float, reason: str) -> None:
    tx = _tx()
    tx.loc[0, column] = value
    msg = _error(_config(tmp_path, tx, invalid_rows="error"))
    assert f"column '{column}': 1 row(s) {reason}" in msg
    assert "transactions.csv" in msg


def test_zero_sales_kept_when_configured(tmp_path: Path) -> None:
    tx = _tx()
    tx.loc[0, "sales_value"] = 0.0
    ds = load_dataset(_config(tmp_path, tx, invalid_rows="error", drop_zero_sales=False))
    assert len(ds.transactions) == 4


def test_duplicated_catalog_key(tmp_path: Path) -> None:
    catalog = pd.concat([_catalog(), _catalog().iloc[[0]]], ignore_index=True)
    msg = _error(_config(tmp_path, _tx(), catalog))
    assert "catalog.csv" in msg
    assert "column 'item_id': 2 row(s) share a duplicated key" in msg
    assert "10" in msg


def test_duplicated_member_key(tmp_path: Path) -> None:
    members = pd.DataFrame({"member_id": [1, 2, 2]})
    msg = _error(_config(tmp_path, _tx(), members=members))
    assert "members.csv" in msg
    assert "column 'member_id': 2 row(s) share a duplicated key" in msg


def test_empty_data(tmp_path: Path) -> None:
    msg = _error(_config(tmp_path, _tx().iloc[:0], fmt="parquet"))
    assert "transactions.parquet" in msg
    assert "empty data" in msg


def test_null_ids(tmp_path: Path) -> None:
    tx = _tx().astype({"member_id": "float64"})
    tx.loc[[1, 2], "member_id"] = None
    msg = _error(_config(tmp_path, tx, fmt="parquet"))
    assert "column 'member_id': 2 row(s) are empty" in msg
    assert "row 1" in msg


def test_timestamp_out_of_range(tmp_path: Path) -> None:
    window = TimestampRange(min=datetime(2017, 1, 1), max=datetime(2017, 1, 10))
    msg = _error(_config(tmp_path, _tx(), invalid_rows="error", timestamp_range=window))
    assert "column 'timestamp': 1 row(s) timestamp after 2017-01-10" in msg
    assert "2017-01-16" in msg


def test_week_before_week_one(tmp_path: Path) -> None:
    tx = _tx()
    tx.loc[0, "week"] = 0
    msg = _error(_config(tmp_path, tx, invalid_rows="error"))
    assert "column 'week': 1 row(s) week < 1" in msg


def test_unknown_member_with_members_file(tmp_path: Path) -> None:
    msg = _error(_config(tmp_path, _tx(), members=pd.DataFrame({"member_id": [1]}), invalid_rows="error"))
    assert "column 'member_id': 2 row(s) member not in the members file" in msg


def test_bad_tier_value(tmp_path: Path) -> None:
    members = pd.DataFrame({"member_id": [1, 2], "tier": ["gold", "platinum"]})
    msg = _error(_config(tmp_path, _tx(), members=members))
    assert "members.csv" in msg
    assert "column 'tier': 1 row(s)" in msg
    assert "platinum" in msg


def test_missing_file(tmp_path: Path) -> None:
    config = _config(tmp_path, _tx())
    config.source.transactions.unlink()  # type: ignore[union-attr]
    assert "file not found" in _error(config)


def test_column_mapping_and_week_from_timestamp(tmp_path: Path) -> None:
    tx = _tx().drop(columns="week").rename(columns={"member_id": "household_key", "sales_value": "spend"})
    columns = ColumnMap(transactions={"household_key": "member_id", "spend": "sales_value"})
    config = _config(tmp_path, tx)
    source = config.source.model_copy(update={"columns": columns})
    ds = load_dataset(config.model_copy(update={"source": source}))
    assert ds.transactions["week"].tolist() == [1, 1, 2, 3]
    assert ds.transactions["sales_value"].sum() == pytest.approx(12.0)


def test_catalog_without_category_column(tmp_path: Path) -> None:
    msg = _error(_config(tmp_path, _tx(), _catalog().drop(columns="category")))
    assert "catalog.csv" in msg
    assert "missing column(s) ['category']" in msg


def test_bad_price_and_margin_in_catalog(tmp_path: Path) -> None:
    catalog = _catalog().assign(price=[2.0, -1.0, 3.0], margin_rate=[0.2, 0.3, 1.2])
    msg = _error(_config(tmp_path, _tx(), catalog, invalid_rows="error"))
    assert "column 'price': 1 row(s) price <= 0" in msg
    ds = load_dataset(_config(tmp_path, _tx(), catalog))
    assert ds.catalog["item_id"].tolist() == [10]
    assert {d.reason for d in ds.dropped if d.table == "transactions"} == {"item_id: item not in the catalog"}
