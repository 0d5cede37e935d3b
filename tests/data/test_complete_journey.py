"""The Complete Journey loader on the real data: sizes after drops, columns, dtypes and the drop report."""

from __future__ import annotations

import pandas as pd
import pytest

from engine.data import schema as s
from engine.data.schema import Dataset

pytestmark = pytest.mark.slow

#: Lines in the raw file, and what the default config removes (documented in configs/data.toml).
RAW_LINES = 1_469_307


def test_row_counts_after_drops(cj_dataset: Dataset) -> None:
    tx_drops = sum(d.rows for d in cj_dataset.dropped if d.table == "transactions")
    assert len(cj_dataset.transactions) + tx_drops == RAW_LINES
    assert len(cj_dataset.transactions) == 1_458_000
    assert cj_dataset.transactions[s.MEMBER_ID].nunique() == 2_469
    assert len(cj_dataset.members) == 2_469
    assert cj_dataset.n_weeks == 53


def test_drop_report_names_every_reason(cj_dataset: Dataset) -> None:
    by_reason = {d.reason.split(":")[1].strip(): d.rows for d in cj_dataset.dropped}
    assert by_reason["item not in the catalog"] == 4_836  # 17 product ids missing from products
    assert by_reason["quantity <= 0 (returns or empty lines)"] == 4_065
    assert by_reason["sales_value == 0 (free or fully couponed line)"] == 2_406
    assert by_reason["empty, filled with '<DEPARTMENT> (UNSPECIFIED)' (rows kept, not removed)"] == 540
    assert all(d.examples for d in cj_dataset.dropped)


def test_columns_and_dtypes(cj_dataset: Dataset) -> None:
    tx, cat, members = cj_dataset.transactions, cj_dataset.catalog, cj_dataset.members
    assert tuple(tx.columns) == (*s.TRANSACTION_COLUMNS, *s.TRANSACTION_PRICE_COLUMNS)
    assert tuple(cat.columns) == (*s.CATALOG_COLUMNS, s.PRICE_DERIVED)
    assert tuple(members.columns) == s.MEMBER_COLUMNS
    assert {c: str(tx[c].dtype) for c in tx.columns} == {
        s.MEMBER_ID: "int64",
        s.ITEM_ID: "int64",
        s.BASKET_ID: "int64",
        s.WEEK: "int64",
        s.TIMESTAMP: "datetime64[ns]",
        s.QUANTITY: "float64",
        s.SALES_VALUE: "float64",
        s.RETAIL_DISC: "float64",
        s.ON_PROMOTION: "bool",
    }
    assert cat[s.ITEM_ID].is_unique
    assert cat[s.ITEM_ID].dtype == "int64"
    for column in (s.NAME, s.CATEGORY, s.DEPARTMENT, s.TIER):
        frame = members if column == s.TIER else cat
        assert pd.api.types.is_string_dtype(frame[column].dtype)
        assert frame[column].notna().all()
    assert cat[s.EXCLUDED].dtype == bool
    assert ((cat[s.MARGIN_RATE] >= 0) & (cat[s.MARGIN_RATE] < 1)).all()
    assert (cat[s.PRICE] > 0).all()
    assert (tx[s.QUANTITY] > 0).all()
    assert (tx[s.SALES_VALUE] > 0).all()
    assert tx[s.ITEM_ID].isin(cat[s.ITEM_ID]).all()


def test_exclusions_and_tiers_on_real_categories(cj_dataset: Dataset) -> None:
    cat = cj_dataset.catalog
    excluded = cat.loc[cat[s.EXCLUDED]]
    for category in ("CIGARETTES", "COUPON/MISC ITEMS", "FUEL", "BOTTLE DEPOSITS"):
        assert (cat.loc[cat[s.CATEGORY] == category, s.EXCLUDED]).all(), category
        assert category in set(excluded[s.CATEGORY])
    assert not cat.loc[cat[s.CATEGORY] == "FLUID MILK PRODUCTS", s.EXCLUDED].any()
    shares = cj_dataset.members[s.TIER].value_counts(normalize=True)
    assert shares["bronze"] == pytest.approx(0.50, abs=0.05)
    assert shares["silver"] == pytest.approx(0.30, abs=0.05)
    assert shares["gold"] == pytest.approx(0.15, abs=0.05)
    assert shares["diamond"] == pytest.approx(0.05, abs=0.03)


def test_loyalty_discounts_and_the_promotion_calendar(cj_dataset: Dataset) -> None:
    tx, promotions = cj_dataset.transactions, cj_dataset.promotions
    assert (tx[s.RETAIL_DISC] >= 0).all()
    assert 0.45 < (tx[s.RETAIL_DISC] > 0).mean() < 0.55  # "on about half of all lines"
    assert 0.2 < tx[s.ON_PROMOTION].mean() < 0.25
    assert promotions is not None
    assert (int(promotions[s.WEEK].min()), int(promotions[s.WEEK].max())) == (1, 53)
    assert promotions[s.PROMO_SHARE].between(0, 1, inclusive="right").all()
    # 12,785 product x store x week keys appear twice (12,748 with different display locations)
    (merged,) = [d.rows for d in cj_dataset.dropped if d.table == "promotions"]
    assert merged == 12_785
    # promoted lines carry deeper discounts than the others
    regular = tx[s.SALES_VALUE] + tx[s.RETAIL_DISC]
    depth = tx[s.RETAIL_DISC].groupby(tx[s.ON_PROMOTION]).sum() / regular.groupby(tx[s.ON_PROMOTION]).sum()
    assert depth[True] > 2 * depth[False]


def test_prices_at_a_cutoff_come_from_earlier_weeks(cj_dataset: Dataset) -> None:
    cut = cj_dataset.before_week(30)
    derived = cut.catalog[s.PRICE_DERIVED].to_numpy()
    expected = cut.catalog[s.ITEM_ID].map(s.shelf_unit_price(cut.transactions))
    pd.testing.assert_series_equal(cut.catalog[s.PRICE][derived], expected[derived], check_names=False)
    assert not cut.catalog[s.PRICE].equals(cj_dataset.catalog[s.PRICE])
