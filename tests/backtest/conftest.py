"""Tiny hand-made tables for the backtest tests: small enough that every right answer is known."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import pytest

from engine.data.schema import TRANSACTION_COLUMNS

# item_id, name, category, department, price, margin_rate, excluded
CATALOG_ROWS: list[tuple[int, str, str, str, float, float, bool]] = [
    (1, "milk", "DAIRY", "GROCERY", 2.0, 0.5, False),
    (2, "bread", "BAKERY", "GROCERY", 3.0, 0.4, False),
    (3, "salad", "PRODUCE", "PRODUCE", 4.0, 0.5, False),
    (4, "cheese", "DAIRY", "GROCERY", 5.0, 0.2, False),
    (5, "sushi", "DELI", "DELI", 10.0, 0.3, False),
    (6, "fuel", "FUEL", "FUEL", 30.0, 0.02, True),
    (7, "apple", "PRODUCE", "PRODUCE", 1.0, 0.35, False),
    (8, "cake", "BAKERY", "PASTRY", 6.0, 0.4, False),
]


def make_catalog() -> pd.DataFrame:
    """The eight-item catalog above in the canonical schema."""
    frame = pd.DataFrame(
        CATALOG_ROWS,
        columns=["item_id", "name", "category", "department", "price", "margin_rate", "excluded"],
    )
    return frame.astype({"name": "str", "category": "str", "department": "str"})


def make_transactions(rows: Sequence[tuple[int, int, int, int, float]]) -> pd.DataFrame:
    """Canonical transactions from (member_id, item_id, basket_id, week, sales_value) rows."""
    frame = pd.DataFrame(rows, columns=["member_id", "item_id", "basket_id", "week", "sales_value"])
    frame = frame.astype({"member_id": "int64", "item_id": "int64", "basket_id": "int64", "week": "int64"})
    frame["timestamp"] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    frame["quantity"] = 1.0
    frame["sales_value"] = frame["sales_value"].astype("float64")
    return frame.loc[:, list(TRANSACTION_COLUMNS)]


@pytest.fixture
def catalog() -> pd.DataFrame:
    return make_catalog()
