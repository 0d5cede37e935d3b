"""Reading the evidence: promotions deduplicated, voided scans counted, campaign dates as weeks."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from engine.errors import DataValidationError
from engine.lift.sources import dedup_promotions, read_promotion_tables


def test_dedup_promotions_merges_conflicting_copies() -> None:
    frame = pd.DataFrame(
        {
            "product_id": [1, 1, 1, 2, 2],
            "store_id": [10, 10, 10, 10, 11],
            "week": [37, 37, 38, 37, 37],
            "display": [False, True, False, False, True],
            "mailer": [True, False, False, True, True],
        }
    )
    out, removed = dedup_promotions(frame)
    assert removed == 1
    assert len(out) == 4
    merged = out[(out["product_id"] == 1) & (out["week"] == 37)]
    assert merged[["display", "mailer"]].to_numpy().tolist() == [[True, True]]
    untouched = out.set_index(["product_id", "store_id", "week"]).sort_index()
    assert untouched.loc[(2, 11, 37), "display"]
    assert not untouched.loc[(1, 10, 38), "display"]


def test_dedup_without_duplicates_changes_nothing() -> None:
    frame = pd.DataFrame(
        {
            "product_id": [1, 2],
            "store_id": [1, 1],
            "week": [1, 1],
            "display": [True, False],
            "mailer": [False, True],
        }
    )
    out, removed = dedup_promotions(frame)
    assert removed == 0
    pd.testing.assert_frame_equal(out, frame)


def test_read_counts_quirks_and_maps_dates_to_weeks(cj_with_effect: Path) -> None:
    tables = read_promotion_tables(cj_with_effect)
    assert tables.voided_lines == 3
    # 16 products x 2 stores x weeks 20, 22, 24, 26 repeated with conflicting display flags
    assert tables.promotion_duplicates == 128
    assert not tables.promotions.duplicated(["product_id", "store_id", "week"]).any()
    assert tables.promotions["display"].all()  # a copy saying "on display" wins
    campaign = tables.campaigns.set_index("campaign_id").loc[1]
    assert (campaign["campaign_type"], campaign["start_week"], campaign["end_week"]) == ("A", 16, 21)
    assert tables.redemptions["week"].unique().tolist() == [17]


def test_missing_column_is_named(cj_with_effect: Path, tmp_path: Path) -> None:
    for name in cj_with_effect.iterdir():
        (tmp_path / name.name).write_bytes(name.read_bytes())
    products = pd.read_parquet(tmp_path / "products.parquet").drop(columns=["department"])
    products.to_parquet(tmp_path / "products.parquet")
    with pytest.raises(DataValidationError, match=r"products.parquet: missing column\(s\) \['department'\]"):
        read_promotion_tables(tmp_path)
    (tmp_path / "products.parquet").write_bytes((cj_with_effect / "products.parquet").read_bytes())
    (tmp_path / "coupons.parquet").unlink()
    with pytest.raises(DataValidationError, match=r"coupons\.parquet: file not found"):
        read_promotion_tables(tmp_path)
