"""The promotion calendar: validation, deduplication, store shares and promoted lines; the files loader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.data import schema as s
from engine.data.config import DataConfig
from engine.data.loaders import load_dataset
from engine.data.promotions import ALL_STORES, clean_promotions, promoted_lines, promotion_calendar
from engine.data.tiers import load_tiers_config, with_tiers_as_of
from engine.errors import DataValidationError

ITEMS = pd.Series([1, 2, 3], dtype="int64")


def _rows(rows: list[tuple[object, ...]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["item_id", "store_id", "week", "display", "mailer"])


def test_repeated_keys_are_merged_and_counted() -> None:
    # Complete Journey repeats item x store x week rows with conflicting display flags
    raw = _rows(
        [
            (1, 10, 5, False, True),
            (1, 10, 5, True, True),
            (2, 10, 5, True, False),
            (2, 11, 5, False, True),
        ]
    )
    rows, drops = clean_promotions(raw, "promo.csv", ITEMS, "report")
    assert len(rows) == 3
    merged = rows[(rows["item_id"] == 1) & (rows["store_id"] == 10)]
    assert merged[["display", "mailer"]].to_numpy().tolist() == [[True, True]]
    (note,) = drops
    assert note.table == "promotions"
    assert note.rows == 1
    assert "merged" in note.reason


def test_bad_rows_are_reported_or_raise() -> None:
    raw = _rows([(1, 10, 5, True, False), (9, 10, 5, True, False), (2, 10, 0, False, True), (3, 1, 2, 0, 0)])
    rows, drops = clean_promotions(raw, "promo.csv", ITEMS, "report")
    assert rows["item_id"].tolist() == [1]
    reasons = {d.reason: d.rows for d in drops}
    assert reasons == {
        "item_id: item not in the catalog": 1,
        "week: week < 1": 1,
        "display: neither display nor mailer set (promotes nothing)": 1,
    }
    with pytest.raises(DataValidationError, match=r"promo.csv: column 'item_id': 1 row\(s\) item not in"):
        clean_promotions(raw, "promo.csv", ITEMS, "error")


def test_flags_must_be_booleans_and_a_flag_column_must_exist() -> None:
    raw = _rows([(1, 10, 5, "maybe", False)])
    with pytest.raises(DataValidationError, match=r"column 'display': 1 row.*not booleans"):
        clean_promotions(raw, "promo.csv", ITEMS, "report")
    with pytest.raises(DataValidationError, match=r"missing column\(s\) \['display', 'mailer'\]"):
        clean_promotions(raw.drop(columns=["display", "mailer"]), "promo.csv", ITEMS, "report")


def test_calendar_shares_per_week_and_chain_wide_rows() -> None:
    # week 5: stores 10, 11, 12, 13 in the calendar; item 1 promoted in 10 and 11 (one on display)
    raw = _rows(
        [
            (1, 10, 5, True, True),
            (1, 11, 5, False, True),
            (2, 12, 5, True, False),
            (3, 13, 5, False, True),
        ]
    )
    rows, _ = clean_promotions(raw, "p", ITEMS, "report")
    chain = pd.DataFrame(
        {"item_id": [2], "store_id": [ALL_STORES], "week": [6], "display": [True], "mailer": [False]}
    )
    calendar = promotion_calendar(pd.concat([rows, chain], ignore_index=True))
    by_key = calendar.set_index(["item_id", "week"])
    assert by_key.loc[(1, 5), ["promo_share", "display_share", "mailer_share"]].tolist() == [0.5, 0.25, 0.5]
    assert by_key.loc[(2, 5), "promo_share"] == 0.25
    assert by_key.loc[(2, 6), ["promo_share", "display_share", "mailer_share"]].tolist() == [1.0, 1.0, 0.0]
    assert tuple(calendar.columns) == s.PROMOTION_COLUMNS


def test_promoted_lines_match_store_and_week() -> None:
    rows, _ = clean_promotions(
        _rows([(1, 10, 5, True, False), (2, 11, 6, False, True)]), "p", ITEMS, "report"
    )
    tx = pd.DataFrame({"item_id": [1, 1, 1, 2, 2], "week": [5, 5, 6, 6, 6]})
    stores = pd.Series([10, 11, 10, 11, 10])
    assert promoted_lines(tx, stores, rows).tolist() == [True, False, False, True, False]
    # without stores on the lines: promoted when promoted in any store that week
    assert promoted_lines(tx, None, rows).tolist() == [True, True, False, True, True]


def _write_files(tmp_path: Path, promotions: pd.DataFrame) -> DataConfig:
    tx = pd.DataFrame(
        {
            "member_id": [1, 1, 2, 2],
            "item_id": ["A", "A", "A", "B"],
            "basket_id": [1, 2, 3, 4],
            "week": [1, 2, 2, 2],
            "store_id": [7, 7, 8, 8],
            "quantity": [1, 1, 1, 2],
            "sales_value": [2.0, 1.5, 2.0, 3.0],
            "retail_disc": [0.0, 0.5, 0.0, 1.0],
        }
    )
    catalog = pd.DataFrame({"item_id": ["A", "B"], "category": ["X", "Y"], "department": ["D", "D"]})
    tx.to_csv(tmp_path / "tx.csv", index=False)
    catalog.to_csv(tmp_path / "cat.csv", index=False)
    promotions.to_csv(tmp_path / "promo.csv", index=False)
    return DataConfig.model_validate(
        {
            "source": {
                "type": "files",
                "format": "csv",
                "transactions": tmp_path / "tx.csv",
                "catalog": tmp_path / "cat.csv",
                "promotions": tmp_path / "promo.csv",
                "columns": {"promotions": {"sku": "item_id", "shop": "store_id", "on_display": "display"}},
            }
        }
    )


def test_files_loader_reads_promotions_and_discounts(tmp_path: Path) -> None:
    promo = pd.DataFrame(
        {
            "sku": ["A", "A", "B"],
            "shop": [7, 7, 9],
            "week": [2, 2, 2],
            "on_display": ["yes", "no", "1"],
            "mailer": [0, 0, 1],
        }
    )
    ds = load_dataset(_write_files(tmp_path, promo))
    tx = ds.transactions
    assert tx["on_promotion"].tolist() == [False, True, False, False]
    assert tx["retail_disc"].tolist() == [0.0, 0.5, 0.0, 1.0]
    assert "store_id" not in tx.columns
    # shelf price = (sales + loyalty discount) / quantity, median over the lines: A 2.0, 2.0, 2.0; B 2.0
    assert ds.catalog.set_index("item_id")["price"].to_dict() == {"A": 2.0, "B": 2.0}
    assert ds.catalog["price_derived"].all()
    assert ds.promotions is not None
    assert ds.promotions.set_index(["item_id", "week"])["promo_share"].to_dict() == {
        ("A", 2): 0.5,
        ("B", 2): 0.5,
    }
    assert [d.rows for d in ds.dropped if d.table == "promotions"] == [1]  # A-7-2 repeated


def test_files_loader_names_a_bad_promotions_file(tmp_path: Path) -> None:
    promo = pd.DataFrame({"sku": ["A"], "shop": [7], "week": ["two"], "on_display": [True]})
    with pytest.raises(
        DataValidationError, match=r"promo.csv: column 'week': 1 row\(s\) cannot be read as int"
    ):
        load_dataset(_write_files(tmp_path, promo))


def test_negative_loyalty_discount_is_an_invalid_row(tmp_path: Path) -> None:
    config = _write_files(tmp_path, pd.DataFrame({"sku": ["A"], "week": [2], "mailer": [True]}))
    tx = pd.read_csv(tmp_path / "tx.csv")
    tx.loc[0, "retail_disc"] = -0.5
    tx.to_csv(tmp_path / "tx.csv", index=False)
    ds = load_dataset(config)
    assert [d.rows for d in ds.dropped if "retail_disc" in d.reason] == [1]
    # a promotions file without store ids holds in every store
    assert ds.transactions["on_promotion"].tolist() == [True, True, False]
    assert np.isclose(ds.promotions["promo_share"], 1.0).all()  # type: ignore[index]


def test_the_challenge_weeks_calendar_is_known_at_its_cutoff(tmp_path: Path) -> None:
    promo = pd.DataFrame({"sku": ["A", "B"], "shop": [7, 8], "week": [2, 3], "mailer": [True, True]})
    ds = load_dataset(_write_files(tmp_path, promo))
    cut = ds.before_week(2)
    assert cut.promotions is not None
    # planned before the week starts: week 2's calendar is known at cutoff 2, week 3's is not
    assert cut.promotions["week"].tolist() == [2]
    assert cut.transactions["week"].max() == 1
    # re-deriving tiers at the cutoff keeps the calendar (backtests cut, then re-derive tiers)
    tiered = with_tiers_as_of(cut, 2, load_tiers_config())
    pd.testing.assert_frame_equal(tiered.promotions, cut.promotions)  # type: ignore[arg-type]


def test_a_cutoff_after_the_data_keeps_every_line_without_copying_them(tmp_path: Path) -> None:
    promo = pd.DataFrame({"sku": ["A", "B"], "shop": [7, 8], "week": [2, 3], "mailer": [True, True]})
    ds = load_dataset(_write_files(tmp_path, promo))
    after = ds.before_week(ds.n_weeks + 1)
    assert after.transactions is ds.transactions
    cut = ds.before_week(ds.n_weeks)
    assert cut.transactions is not ds.transactions
    assert cut.transactions["week"].max() == ds.n_weeks - 1
    assert cut.transactions.index.equals(pd.RangeIndex(len(cut.transactions)))
