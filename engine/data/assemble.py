"""Turn raw tables with canonical column names into a validated :class:`Dataset`.

Every loader renames its source's columns to the canonical ones and hands the raw frames here, so all
sources are checked, cleaned and typed by the same code. Order matters: the catalog is checked first so
that transactions on a removed catalog row are then reported as unknown items.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd

from engine.data import schema as s
from engine.data.config import DataConfig
from engine.data.margins import MarginsConfig, apply_margins
from engine.data.profiles import clean_profiles, with_profiles
from engine.data.promotions import clean_promotions, promoted_lines, promotion_calendar
from engine.data.schema import Dataset, DropCount, shelf_unit_price
from engine.data.tiers import TiersConfig, build_members
from engine.data.validation import (
    RowCheck,
    apply_row_checks,
    coerce,
    fail,
    normalised_ids,
    require_columns,
    require_no_nulls,
    require_rows,
    require_unique,
)

#: Label for a category the source leaves empty: "<DEPARTMENT> (UNSPECIFIED)".
UNSPECIFIED = "<DEPARTMENT> (UNSPECIFIED)"
#: Label for a department the source leaves empty.
UNKNOWN_DEPARTMENT = "UNSPECIFIED"


@dataclass(frozen=True)
class RawTables:
    """Source frames already renamed to canonical columns, with the file each came from."""

    transactions: pd.DataFrame
    catalog: pd.DataFrame
    members: pd.DataFrame | None
    where: dict[str, str]
    source: str
    #: The promotion calendar input (:data:`~engine.data.schema.PROMOTION_INPUT_COLUMNS`), if any.
    promotions: pd.DataFrame | None = None


def week_of(timestamps: pd.Series, week_start: date) -> pd.Series:
    """Week numbers: 1 = the 7 days starting at ``week_start`` (earlier timestamps give weeks < 1)."""
    days = (timestamps - pd.Timestamp(week_start)).dt.days
    return (days // 7 + 1).astype("int64")


def _align_ids(left: pd.Series, right: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Give two id columns the same dtype: int64 when both are integers, strings otherwise."""
    if left.dtype == right.dtype:
        return left, right
    return left.astype("str"), right.astype("str")


def _ids(raw: pd.DataFrame, column: str, where: str, table: str, notes: list[DropCount]) -> pd.Series:
    """Coerce an id column, noting the ids rewritten to canonical form (``'001' -> 1``)."""
    ids = coerce(raw, column, "id", where)
    note = normalised_ids(raw[column], ids, table, column)
    if note is not None:
        notes.append(note)
    return ids


def _catalog(raw: pd.DataFrame, where: str, config: DataConfig) -> tuple[pd.DataFrame, list[DropCount]]:
    require_rows(raw, where)
    # Category is the level stretch picks are made at: a catalog without it is unusable. Empty values
    # in it are filled and counted instead.
    require_columns(raw, [s.ITEM_ID, s.CATEGORY, s.DEPARTMENT], where)
    notes: list[DropCount] = []
    cat = pd.DataFrame({s.ITEM_ID: _ids(raw, s.ITEM_ID, where, "catalog", notes)})
    require_no_nulls(cat, [s.ITEM_ID], where)
    require_unique(cat, s.ITEM_ID, where)

    department = coerce(raw, s.DEPARTMENT, "str", where)
    no_dept = department.isna() | (department.str.strip() == "")
    if no_dept.any():
        notes.append(_filled("catalog", s.DEPARTMENT, UNKNOWN_DEPARTMENT, cat.loc[no_dept, s.ITEM_ID]))
    cat[s.DEPARTMENT] = department.mask(no_dept, UNKNOWN_DEPARTMENT)

    category = coerce(raw, s.CATEGORY, "str", where)
    no_cat = category.isna() | (category.str.strip() == "")
    if no_cat.any():
        notes.append(_filled("catalog", s.CATEGORY, UNSPECIFIED, cat.loc[no_cat, s.ITEM_ID]))
    cat[s.CATEGORY] = category.mask(no_cat, cat[s.DEPARTMENT] + " (UNSPECIFIED)")

    name = coerce(raw, s.NAME, "str", where) if s.NAME in raw else pd.Series(pd.NA, index=raw.index)
    cat[s.NAME] = name.fillna(cat[s.CATEGORY])

    cat[s.PRICE] = coerce(raw, s.PRICE, "float", where) if s.PRICE in raw else np.nan
    if s.MARGIN_RATE in raw:
        cat[s.MARGIN_RATE] = coerce(raw, s.MARGIN_RATE, "float", where)
    if "unit_cost" in raw:
        cost = coerce(raw, "unit_cost", "float", where)
        from_cost = 1.0 - cost / cat[s.PRICE]
        cat[s.MARGIN_RATE] = cat[s.MARGIN_RATE].fillna(from_cost) if s.MARGIN_RATE in cat else from_cost
    if s.EXCLUDED in raw:
        cat[s.EXCLUDED] = coerce(raw, s.EXCLUDED, "bool", where)

    price = cat[s.PRICE]
    checks = [
        RowCheck("catalog", s.PRICE, "not a finite number (inf)", np.isinf(price)),
        RowCheck("catalog", s.PRICE, "price <= 0", price <= 0),  # NaN compares False
    ]
    if s.MARGIN_RATE in cat:
        rate = cat[s.MARGIN_RATE]
        checks.append(
            RowCheck("catalog", s.MARGIN_RATE, "margin_rate outside [0, 1)", (rate < 0) | (rate >= 1))
        )
    cat, drops = apply_row_checks(cat, checks, where, config.invalid_rows)
    return cat, [*notes, *drops]


def _filled(table: str, column: str, label: str, ids: pd.Series) -> DropCount:
    # Recorded with the drops so the report shows it, but the rows are kept.
    sample = tuple(str(v) for v in ids.head(5))
    return DropCount(
        table, f"{column}: empty, filled with '{label}' (rows kept, not removed)", len(ids), sample
    )


def _transactions(raw: pd.DataFrame, where: str, config: DataConfig) -> tuple[pd.DataFrame, list[DropCount]]:
    require_rows(raw, where)
    required = [s.MEMBER_ID, s.ITEM_ID, s.BASKET_ID, s.QUANTITY, s.SALES_VALUE]
    require_columns(raw, required, where)
    if s.WEEK not in raw and s.TIMESTAMP not in raw:
        require_columns(raw, [s.WEEK, s.TIMESTAMP], where)  # names both in the message
    notes: list[DropCount] = []
    tx = pd.DataFrame(
        {c: _ids(raw, c, where, "transactions", notes) for c in (s.MEMBER_ID, s.ITEM_ID, s.BASKET_ID)}
    )
    if s.TIMESTAMP in raw:
        tx[s.TIMESTAMP] = coerce(raw, s.TIMESTAMP, "datetime", where)
    if s.WEEK in raw:
        tx[s.WEEK] = coerce(raw, s.WEEK, "int", where)
    else:
        require_no_nulls(tx, [s.TIMESTAMP], where)
        tx[s.WEEK] = week_of(tx[s.TIMESTAMP], config.week_start)
    if s.TIMESTAMP not in tx:
        tx[s.TIMESTAMP] = pd.Series(pd.NaT, index=tx.index, dtype="datetime64[ns]")
    tx[s.QUANTITY] = coerce(raw, s.QUANTITY, "float", where)
    tx[s.SALES_VALUE] = coerce(raw, s.SALES_VALUE, "float", where)
    require_no_nulls(tx, [s.MEMBER_ID, s.ITEM_ID, s.BASKET_ID, s.QUANTITY, s.SALES_VALUE], where)
    # No loyalty discount column: the source sells at one price, the discount is 0.
    tx[s.RETAIL_DISC] = coerce(raw, s.RETAIL_DISC, "float", where) if s.RETAIL_DISC in raw else 0.0
    require_no_nulls(tx, [s.RETAIL_DISC], where)
    columns = [*s.TRANSACTION_COLUMNS, s.RETAIL_DISC]
    if s.STORE_ID in raw:  # only to place lines in the promotion calendar; not kept after assembly
        tx[s.STORE_ID] = coerce(raw, s.STORE_ID, "id", where)
        require_no_nulls(tx, [s.STORE_ID], where)
        columns.append(s.STORE_ID)
    return tx[columns], notes


def _transaction_checks(
    tx: pd.DataFrame, known_items: pd.Series, known_members: pd.Series | None, config: DataConfig
) -> list[RowCheck]:
    t = "transactions"
    checks = [RowCheck(t, s.ITEM_ID, "item not in the catalog", ~tx[s.ITEM_ID].isin(known_items))]
    if known_members is not None:
        checks.append(
            RowCheck(t, s.MEMBER_ID, "member not in the members file", ~tx[s.MEMBER_ID].isin(known_members))
        )
    checks += [
        # First, so that -inf is counted as what it is rather than as a return.
        RowCheck(t, s.QUANTITY, "not a finite number (inf)", np.isinf(tx[s.QUANTITY])),
        RowCheck(t, s.SALES_VALUE, "not a finite number (inf)", np.isinf(tx[s.SALES_VALUE])),
        RowCheck(t, s.QUANTITY, "quantity <= 0 (returns or empty lines)", tx[s.QUANTITY] <= 0),
        RowCheck(t, s.SALES_VALUE, "sales_value < 0", tx[s.SALES_VALUE] < 0),
        RowCheck(t, s.RETAIL_DISC, "retail_disc < 0 (discounts are amounts off)", tx[s.RETAIL_DISC] < 0),
    ]
    if config.drop_zero_sales:
        checks.append(
            RowCheck(
                t, s.SALES_VALUE, "sales_value == 0 (free or fully couponed line)", tx[s.SALES_VALUE] == 0
            )
        )
    low, high = config.timestamp_range.min, config.timestamp_range.max
    if low is not None:
        checks.append(RowCheck(t, s.TIMESTAMP, f"timestamp before {low}", tx[s.TIMESTAMP] < _ts(low)))
    if high is not None:
        checks.append(RowCheck(t, s.TIMESTAMP, f"timestamp after {high}", tx[s.TIMESTAMP] > _ts(high)))
    checks.append(RowCheck(t, s.WEEK, f"week < 1 (before week_start {config.week_start})", tx[s.WEEK] < 1))
    if high is not None:
        last = int(week_of(pd.Series([_ts(high)]), config.week_start).iloc[0])
        checks.append(RowCheck(t, s.WEEK, f"week > {last} (after timestamp_range.max)", tx[s.WEEK] > last))
    return checks


def _ts(value: datetime) -> pd.Timestamp:
    return pd.Timestamp(value).tz_localize(None)


def _members(raw: pd.DataFrame, where: str, notes: list[DropCount], policy: str) -> pd.DataFrame:
    require_rows(raw, where)
    require_columns(raw, [s.MEMBER_ID], where)
    members = pd.DataFrame({s.MEMBER_ID: _ids(raw, s.MEMBER_ID, where, "members", notes)})
    require_no_nulls(members, [s.MEMBER_ID], where)
    require_unique(members, s.MEMBER_ID, where)
    if s.TIER in raw:
        members[s.TIER] = raw[s.TIER].to_numpy()
    profiles, profile_notes = clean_profiles(raw, where, policy)
    notes.extend(profile_notes)
    for column, values in profiles.items():
        members[column] = values.to_numpy()
    return members


def _derived_tiers(given: pd.DataFrame | None, built: pd.DataFrame) -> DropCount | None:
    """A note on the members whose tier the members file left empty (derived from their spend)."""
    if given is None or s.TIER not in given:
        return None
    empty = given.loc[given[s.TIER].isna(), s.MEMBER_ID]
    if empty.empty:
        return None
    tiers = built.set_index(s.MEMBER_ID).loc[empty.to_numpy(), s.TIER].value_counts()
    made = ", ".join(f"{n} {tier}" for tier, n in tiers.items())
    reason = f"tier: empty, derived from spend: {made} (rows kept)"
    return DropCount("members", reason, len(empty), tuple(str(v) for v in empty.head(5)))


def _with_promotions(
    raw: RawTables, tx: pd.DataFrame, catalog: pd.DataFrame, config: DataConfig
) -> tuple[pd.DataFrame, pd.DataFrame | None, tuple[DropCount, ...]]:
    """Transactions with ``on_promotion`` (store ids dropped), the calendar per item-week, drops."""
    stores = tx[s.STORE_ID] if s.STORE_ID in tx.columns else None
    drops: tuple[DropCount, ...] = ()
    calendar = None
    if raw.promotions is None:
        flags = np.zeros(len(tx), dtype=bool)
    else:
        where = raw.where.get("promotions", "promotions")
        rows, drops = clean_promotions(raw.promotions, where, catalog[s.ITEM_ID], config.invalid_rows)
        flags = promoted_lines(tx, stores, rows)
        calendar = promotion_calendar(rows)
    tx = tx.drop(columns=[s.STORE_ID], errors="ignore").assign(**{s.ON_PROMOTION: flags})
    return tx, calendar, drops


def assemble(
    raw: RawTables,
    config: DataConfig,
    margins: MarginsConfig,
    tiers: TiersConfig,
    as_of_week: int | None = None,
) -> Dataset:
    """Validate, clean and type raw tables into a :class:`Dataset` (see the module docstring).

    ``as_of_week`` is the week before which spend counts for tiers; by default the week after the last
    one in the data (all of it counts).
    """
    catalog, drops = _catalog(raw.catalog, raw.where["catalog"], config)
    tx, notes = _transactions(raw.transactions, raw.where["transactions"], config)
    members = None
    if raw.members is not None:
        members = _members(raw.members, raw.where["members"], notes, config.invalid_rows)
    drops += notes

    tx[s.ITEM_ID], catalog[s.ITEM_ID] = _align_ids(tx[s.ITEM_ID], catalog[s.ITEM_ID])
    known_members = None
    if members is not None:
        tx[s.MEMBER_ID], members[s.MEMBER_ID] = _align_ids(tx[s.MEMBER_ID], members[s.MEMBER_ID])
        known_members = members[s.MEMBER_ID]
    checks = _transaction_checks(tx, catalog[s.ITEM_ID], known_members, config)
    tx, tx_drops = apply_row_checks(tx, checks, raw.where["transactions"], config.invalid_rows)
    drops += tx_drops
    if tx.empty:
        raise fail(raw.where["transactions"], None, 0, "left after removing invalid rows (empty data)")

    tx, promotions, promo_drops = _with_promotions(raw, tx, catalog, config)
    drops += promo_drops

    derived = catalog[s.ITEM_ID].map(shelf_unit_price(tx))
    catalog[s.PRICE_DERIVED] = catalog[s.PRICE].isna() & derived.notna()
    catalog[s.PRICE] = catalog[s.PRICE].fillna(derived)
    no_price = catalog[s.PRICE].isna()
    reason = "no price given and never sold (cannot price an offer)"
    check = RowCheck("catalog", s.PRICE, reason, no_price, show=s.ITEM_ID)
    catalog, price_drops = apply_row_checks(catalog, [check], raw.where["catalog"], config.invalid_rows)
    drops += price_drops

    catalog = apply_margins(catalog, margins)[[*s.CATALOG_COLUMNS, s.PRICE_DERIVED]]
    catalog = catalog.astype({s.NAME: "str", s.CATEGORY: "str", s.DEPARTMENT: "str", s.PRICE: "float64"})
    cutoff = int(tx[s.WEEK].max()) + 1 if as_of_week is None else as_of_week
    member_table = build_members(tx, cutoff, tiers, given=members, where=raw.where.get("members", "members"))
    tier_note = _derived_tiers(members, member_table)
    if tier_note is not None:
        drops.append(tier_note)
    return Dataset(
        transactions=tx.reset_index(drop=True),
        catalog=catalog.sort_values(s.ITEM_ID).reset_index(drop=True),
        members=with_profiles(member_table[list(s.MEMBER_COLUMNS)], members),
        source=raw.source,
        dropped=tuple(drops),
        promotions=promotions,
    )
