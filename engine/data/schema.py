"""The in-memory tables every loader produces, and the input schema a retailer's own data must follow.

Every loader (Complete Journey, Parquet, CSV, synthetic) returns a :class:`Dataset` with exactly these
columns and dtypes, whatever the source called them. Ids keep the source's values and type (integer or
string) so that outputs name members and items as the retailer does.

transactions (one row per purchase line)
    member_id    int64 | string   the loyalty member (Complete Journey: household_id)
    item_id      int64 | string   the product bought (Complete Journey: product_id)
    basket_id    int64 | string   the shopping trip; lines of one trip share it
    week         int64            week number, 1 = first week of the data (derived from timestamp if absent)
    timestamp    datetime64[ns]   when the line was bought (may be missing if the source only has weeks)
    quantity     float64          units bought, > 0 (returns and zero lines are reported and removed)
    sales_value  float64          what the member paid for the line, >= 0

catalog (one row per item)
    item_id      int64 | string   unique
    name         string           human-readable label
    category     string           the level stretch picks are made at (Complete Journey: product_category)
    department   string           the level above category
    price        float64          typical shelf price per unit (derived from transactions if absent)
    margin_rate  float64          gross margin / price in [0, 1) (from configs/margins.toml if absent)
    excluded     bool             never carries an offer (fuel, tobacco, gift cards, coupons...)

members (one row per member)
    member_id    int64 | string   unique
    tier         string           bronze | silver | gold | diamond (derived from spend if absent)
    spend_52w    float64          trailing 52-week spend before the as-of cutoff used to derive tiers
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

MEMBER_ID = "member_id"
ITEM_ID = "item_id"
BASKET_ID = "basket_id"
WEEK = "week"
TIMESTAMP = "timestamp"
QUANTITY = "quantity"
SALES_VALUE = "sales_value"

NAME = "name"
CATEGORY = "category"
DEPARTMENT = "department"
PRICE = "price"
MARGIN_RATE = "margin_rate"
EXCLUDED = "excluded"

TIER = "tier"
SPEND_52W = "spend_52w"

TRANSACTION_COLUMNS: tuple[str, ...] = (MEMBER_ID, ITEM_ID, BASKET_ID, WEEK, TIMESTAMP, QUANTITY, SALES_VALUE)
CATALOG_COLUMNS: tuple[str, ...] = (ITEM_ID, NAME, CATEGORY, DEPARTMENT, PRICE, MARGIN_RATE, EXCLUDED)
MEMBER_COLUMNS: tuple[str, ...] = (MEMBER_ID, TIER, SPEND_52W)

TIERS: tuple[str, ...] = ("bronze", "silver", "gold", "diamond")


@dataclass(frozen=True)
class DropCount:
    """Rows a loader removed on purpose, with why and a few examples, so nothing vanishes silently."""

    table: str
    reason: str
    rows: int
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class Dataset:
    """Validated transactions, catalog and members, plus the record of every row removed."""

    transactions: pd.DataFrame
    catalog: pd.DataFrame
    members: pd.DataFrame
    source: str
    dropped: tuple[DropCount, ...] = field(default=())

    @property
    def n_weeks(self) -> int:
        """The last week number present in the transactions."""
        return int(self.transactions[WEEK].max())

    def before_week(self, week: int) -> Dataset:
        """The same data restricted to transactions strictly before ``week`` (the training cutoff)."""
        tx = self.transactions[self.transactions[WEEK] < week]
        return Dataset(tx.reset_index(drop=True), self.catalog, self.members, self.source, self.dropped)
