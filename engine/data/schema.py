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
  and two price columns every loader adds (:data:`TRANSACTION_PRICE_COLUMNS`; hand-built frames may
  leave them out, read as 0 and False):
    retail_disc  float64          the retailer's loyalty-card discount on the line, >= 0 (0 if the source
                                  has none); the regular shelf price of the line is sales_value + retail_disc
    on_promotion bool             the item was on display or in the mailer at the line's store that week

catalog (one row per item)
    item_id      int64 | string   unique
    name         string           human-readable label
    category     string           the level stretch picks are made at (Complete Journey: product_category)
    department   string           the level above category
    price        float64          typical shelf price per unit before the loyalty discount (derived from
                                  transactions if absent: the median of (sales_value + retail_disc) /
                                  quantity; :meth:`Dataset.before_week` re-derives it from earlier weeks only)
    margin_rate  float64          gross margin / price in [0, 1) (from configs/margins.toml if absent)
    excluded     bool             never carries an offer (fuel, tobacco, gift cards, coupons...)
  plus ``price_derived`` (bool, loaders only): the price was derived from transactions, not given.

members (one row per member)
    member_id    int64 | string   unique
    tier         string           bronze | silver | gold | diamond (derived from spend if absent)
    spend_52w    float64          trailing 52-week spend before the as-of cutoff used to derive tiers
  and three optional profile columns (:data:`PROFILE_COLUMNS`, kept only when the members file has
  them; an empty value means "not known"; checked by :mod:`engine.data.profiles`):
    name         string           what a message calls the member (NFC; no control characters)
    language     string           BCP 47 tag, e.g. "fa", "en-US" (stored lower-case)
    time_zone    string           IANA time zone, e.g. "Asia/Tehran"

promotions (optional; the promotion calendar per item and week, known before the week starts)
    item_id        int64 | string
    week           int64
    promo_share    float64        share of the calendar's stores that week with the item on display or
                                  in the mailer (1 for a chain-wide promotion)
    display_share  float64        share of those stores with the item on display
    mailer_share   float64        share of those stores with the item in the mailer
  The input file has one row per item x store x week (``store_id`` optional: no store means every
  store) with ``display`` and ``mailer`` flags; see :mod:`engine.data.promotions`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pandas as pd

MEMBER_ID = "member_id"
ITEM_ID = "item_id"
BASKET_ID = "basket_id"
WEEK = "week"
TIMESTAMP = "timestamp"
QUANTITY = "quantity"
SALES_VALUE = "sales_value"
RETAIL_DISC = "retail_disc"
ON_PROMOTION = "on_promotion"
STORE_ID = "store_id"

NAME = "name"
CATEGORY = "category"
DEPARTMENT = "department"
PRICE = "price"
MARGIN_RATE = "margin_rate"
EXCLUDED = "excluded"
PRICE_DERIVED = "price_derived"

PROMO_SHARE = "promo_share"
DISPLAY_SHARE = "display_share"
MAILER_SHARE = "mailer_share"
DISPLAY = "display"
MAILER = "mailer"

TIER = "tier"
SPEND_52W = "spend_52w"
MEMBER_NAME = "name"
LANGUAGE = "language"
TIME_ZONE = "time_zone"

TRANSACTION_COLUMNS: tuple[str, ...] = (MEMBER_ID, ITEM_ID, BASKET_ID, WEEK, TIMESTAMP, QUANTITY, SALES_VALUE)
CATALOG_COLUMNS: tuple[str, ...] = (ITEM_ID, NAME, CATEGORY, DEPARTMENT, PRICE, MARGIN_RATE, EXCLUDED)
MEMBER_COLUMNS: tuple[str, ...] = (MEMBER_ID, TIER, SPEND_52W)
#: Optional member columns saying how to address the member (messages).
PROFILE_COLUMNS: tuple[str, ...] = (MEMBER_NAME, LANGUAGE, TIME_ZONE)
#: Columns every loader adds to the transactions (optional in hand-built frames).
TRANSACTION_PRICE_COLUMNS: tuple[str, ...] = (RETAIL_DISC, ON_PROMOTION)
#: The promotion calendar as the Dataset keeps it: one row per item and week.
PROMOTION_COLUMNS: tuple[str, ...] = (ITEM_ID, WEEK, PROMO_SHARE, DISPLAY_SHARE, MAILER_SHARE)
#: The promotions input file's canonical columns (``store_id`` optional).
PROMOTION_INPUT_COLUMNS: tuple[str, ...] = (ITEM_ID, STORE_ID, WEEK, DISPLAY, MAILER)

TIERS: tuple[str, ...] = ("bronze", "silver", "gold", "diamond")


@dataclass(frozen=True)
class DropCount:
    """Rows a loader removed on purpose, with why and a few examples, so nothing vanishes silently."""

    table: str
    reason: str
    rows: int
    examples: tuple[str, ...] = ()


def shelf_unit_price(transactions: pd.DataFrame) -> pd.Series:
    """Median regular shelf price per item: ``(sales_value + retail_disc) / quantity`` over the lines.

    ``retail_disc`` absent counts as 0 (the source has no loyalty discount).
    """
    regular = transactions[SALES_VALUE]
    if RETAIL_DISC in transactions.columns:
        regular = regular + transactions[RETAIL_DISC]
    unit = regular / transactions[QUANTITY]
    return unit.groupby(transactions[ITEM_ID], sort=False).median()


@dataclass(frozen=True)
class Dataset:
    """Validated transactions, catalog and members, plus the record of every row removed.

    ``promotions`` is the promotion calendar (:data:`PROMOTION_COLUMNS`), ``None`` when the source has
    none.
    """

    transactions: pd.DataFrame
    catalog: pd.DataFrame
    members: pd.DataFrame
    source: str
    dropped: tuple[DropCount, ...] = field(default=())
    promotions: pd.DataFrame | None = None

    @property
    def n_weeks(self) -> int:
        """The last week number present in the transactions."""
        return int(self.transactions[WEEK].max())

    def before_week(self, week: int) -> Dataset:
        """The data as known at the start of ``week`` (the training cutoff and challenge week).

        Transactions strictly before ``week``; prices the loaders derived from transactions
        (``price_derived``) derived again from those lines only (NaN for an item not sold before
        ``week``), so no later price reaches a model; the promotion calendar up to and including
        ``week``: a retailer plans its promotions before the week starts.
        """
        before = self.transactions[WEEK].to_numpy() < week
        whole = before.all() and self.transactions.index.equals(pd.RangeIndex(len(before)))
        # Nothing to cut (the weekly batch's cutoff is the week after the data): no copy of every line.
        tx = self.transactions if whole else self.transactions[before].reset_index(drop=True)
        catalog = self.catalog
        if PRICE_DERIVED in catalog.columns and catalog[PRICE_DERIVED].any():
            derived = catalog[PRICE_DERIVED].to_numpy(dtype=bool)
            earlier = catalog[ITEM_ID].map(shelf_unit_price(tx)).to_numpy(dtype="float64")
            catalog = catalog.assign(**{PRICE: catalog[PRICE].where(~derived, earlier)})
        promotions = self.promotions
        if promotions is not None:
            promotions = promotions[promotions[WEEK] <= week].reset_index(drop=True)
        return replace(self, transactions=tx, catalog=catalog, promotions=promotions)
