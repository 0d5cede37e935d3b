"""``offers data check`` reports what loading changed silently before: inf values, merged ids, empty tiers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from engine.cli import app
from engine.data.loaders import load_dataset
from tests.data.test_validation import _catalog, _config, _error, _tx


def _check(tmp_path: Path, tx: pd.DataFrame, members: pd.DataFrame | None = None, fmt: str = "csv") -> str:
    """Write the files and a data.toml, run ``offers data check``, return its output."""
    _config(tmp_path, tx, _catalog(), members, fmt=fmt)
    lines = [
        "[source]",
        'type = "files"',
        f'format = "{fmt}"',
        f'transactions = "{tmp_path / f"transactions.{fmt}"}"',
        f'catalog = "{tmp_path / f"catalog.{fmt}"}"',
    ]
    if members is not None:
        lines.append(f'members = "{tmp_path / f"members.{fmt}"}"')
    config = tmp_path / "data.toml"
    config.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(app, ["data", "check", "--config", str(config)], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("column", ["quantity", "sales_value"])
def test_infinite_quantities_and_sales_are_reported_and_removed(tmp_path: Path, column: str) -> None:
    tx = _tx()
    tx[column] = tx[column].astype("float64")
    tx.loc[1, column] = float("inf")
    output = _check(tmp_path, tx)
    assert f"{column}: not a finite number (inf)" in output
    again = tmp_path / "again"
    again.mkdir()
    ds = load_dataset(_config(again, tx))
    assert len(ds.transactions) == 3
    assert any(d.reason.startswith(f"{column}: not a finite number") and d.rows == 1 for d in ds.dropped)


def test_infinite_values_raise_under_the_error_policy(tmp_path: Path) -> None:
    tx = _tx()
    tx.loc[2, "sales_value"] = float("inf")
    msg = _error(_config(tmp_path, tx, invalid_rows="error"))
    assert "column 'sales_value': 1 row(s) not a finite number" in msg


def test_ids_merged_by_normalisation_are_reported(tmp_path: Path) -> None:
    tx = _tx().astype({"member_id": "str"})
    tx.loc[[2, 3], "member_id"] = ["001", "1"]  # two spellings of member 1 in the file
    output = _check(tmp_path, tx)
    assert "member_id: 1 id(s) rewritten to canonical form" in output
    assert "'001' -> 1" in output
    assert "merged with another id" in output
    ds = load_dataset(_config(tmp_path, tx))
    assert sorted(ds.members["member_id"]) == [1]


def test_string_ids_with_leading_zeros_in_parquet_are_reported_too(tmp_path: Path) -> None:
    tx = _tx().astype({"member_id": "str"})
    tx["member_id"] = ["007", "007", "8", "8"]
    output = _check(tmp_path, tx, fmt="parquet")
    assert "'007' -> 7" in output
    assert "merged" not in output  # 007 became 7, no other id was 7


def test_empty_tiers_made_from_spend_are_reported(tmp_path: Path) -> None:
    members = pd.DataFrame({"member_id": [1, 2, 3], "tier": ["gold", None, None]})
    output = _check(tmp_path, _tx(), members)
    assert "tier: empty, derived from spend" in output
    assert "2 " in output.split("tier: empty, derived from spend")[1][:80]
    ds = load_dataset(_config(tmp_path, _tx(), members=members))
    assert ds.members.set_index("member_id").loc[3, "tier"] == "bronze"  # no purchases at all


def test_canonical_ids_and_finite_values_report_nothing_of_the_kind(tmp_path: Path) -> None:
    output = _check(tmp_path, _tx())
    assert "canonical form" not in output
    assert "not a finite number" not in output
