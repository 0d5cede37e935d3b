"""Optional side tables beside the transactions: demographics, the promotion calendar, discounts, coupons.

The offer engine trains on transactions and a catalog alone; these tables only sharpen its predictions,
so every one of them is optional. Complete Journey ships all four (:func:`read_complete_journey_signals`);
a retailer's own data may have none (:data:`NO_SIGNALS`), and the features built from a missing table are
then "unknown" (demographics) or 0 (promotions, discounts, coupons).

demographics (one row per member with a survey answer; members without one are absent, never imputed)
    member_id, age, income, household_size, kids_count   string levels as the source names them
promotions (one row per item and week with a display or mailer placement in at least one store)
    item_id, week, display_share, mailer_share   share of the week's promoting stores placing the item
discounts (one row per member, item and week)
    member_id, item_id, week, sales_value, discount   what was paid and the discounts taken (>= 0)
coupons (one row per member and week with a coupon redemption)
    member_id, week, redemptions

The promotion side table is the dataset's own calendar (:func:`calendar_shares`): the data loader reads
Complete Journey's 20.9M placement rows once (:mod:`engine.data.promotions`, which counts a store repeated
within an item and week once).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import pandas as pd

from engine.data.assemble import week_of
from engine.data.loaders import complete_journey_dir
from engine.data.schema import ITEM_ID, MEMBER_ID, SALES_VALUE, WEEK

DEMOGRAPHIC_COLUMNS: tuple[str, ...] = ("age", "income", "household_size", "kids_count")
DISPLAY_SHARE = "display_share"
MAILER_SHARE = "mailer_share"
DISCOUNT = "discount"
REDEMPTIONS = "redemptions"


@dataclass(frozen=True)
class Signals:
    """The optional side tables (None: the source does not have it); columns as in the module docstring."""

    demographics: pd.DataFrame | None
    promotions: pd.DataFrame | None
    discounts: pd.DataFrame | None
    coupons: pd.DataFrame | None
    source: str


#: A source without any side table: every side feature is "unknown" or 0.
NO_SIGNALS = Signals(None, None, None, None, "none")


def calendar_shares(calendar: pd.DataFrame | None) -> pd.DataFrame | None:
    """The side table ``promotions`` from the dataset's promotion calendar (``Dataset.promotions``).

    The data loader already reads the calendar (:mod:`engine.data.promotions`: per item and week, the
    share of the week's promoting stores with the item on display / in the mailer, repeated rows counted
    once): the side table is its display and mailer columns, so the 20.9M placement rows of Complete
    Journey are read once per process, not twice. ``None`` when the dataset has no calendar.
    """
    if calendar is None:
        return None
    return calendar.loc[:, [ITEM_ID, WEEK, DISPLAY_SHARE, MAILER_SHARE]].reset_index(drop=True)


def _cj_discounts() -> pd.DataFrame:
    columns = ["household_id", "product_id", "week", "sales_value", "retail_disc", "coupon_disc"]
    tx = pd.read_parquet(complete_journey_dir() / "transactions.parquet", columns=[*columns, "quantity"])
    tx = tx[(tx["quantity"] > 0) & (tx["sales_value"] > 0)]  # voided scans are no purchases
    tx = tx.assign(discount=tx["retail_disc"].clip(lower=0) + tx["coupon_disc"].clip(lower=0))
    keys = ["household_id", "product_id", "week"]
    out = tx.groupby(keys, sort=True)[["sales_value", "discount"]].sum().reset_index()
    return out.rename(columns={"household_id": MEMBER_ID, "product_id": ITEM_ID, "sales_value": SALES_VALUE})


def _cj_coupons(week_start: date) -> pd.DataFrame:
    cr = pd.read_parquet(complete_journey_dir() / "coupon_redemptions.parquet")
    weeks = week_of(cr["redemption_date"], week_start)
    frame = pd.DataFrame({MEMBER_ID: cr["household_id"].to_numpy(), WEEK: weeks.to_numpy()})
    return frame.groupby([MEMBER_ID, WEEK], sort=True).size().rename(REDEMPTIONS).reset_index()


def _cj_demographics() -> pd.DataFrame:
    demo = pd.read_parquet(complete_journey_dir() / "demographics.parquet")
    out = demo.loc[:, ["household_id", *DEMOGRAPHIC_COLUMNS]].rename(columns={"household_id": MEMBER_ID})
    return out.astype(dict.fromkeys(DEMOGRAPHIC_COLUMNS, "str"))


@lru_cache(maxsize=1)
def read_complete_journey_demographics() -> pd.DataFrame:
    """Complete Journey's demographics alone (``member_id`` and :data:`DEMOGRAPHIC_COLUMNS` as strings),
    without reading the other side tables (the promotion calendar takes seconds and ~1 GB)."""
    return _cj_demographics()


@lru_cache(maxsize=2)
def read_complete_journey_coupons(week_start: date) -> pd.DataFrame:
    """Complete Journey's coupon redemptions per member and week alone (``member_id, week,
    redemptions``), without reading the other side tables."""
    return _cj_coupons(week_start)


@lru_cache(maxsize=2)
def read_complete_journey_signals(week_start: date) -> Signals:
    """Complete Journey's demographics, discounts and coupon redemptions, read once per process.

    ``promotions`` is left ``None`` here: the promotion calendar comes with the dataset, which has read
    it already (:func:`calendar_shares`; ``engine.train.side.load_signals`` puts the two together).

    Parameters
    ----------
    week_start
        First day of week 1 (``configs/data.toml``), to put coupon redemption dates in weeks.
    """
    return Signals(
        demographics=read_complete_journey_demographics(),
        promotions=None,
        discounts=_cj_discounts(),
        coupons=read_complete_journey_coupons(week_start),
        source="completejourney",
    )
