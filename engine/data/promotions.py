"""The promotion calendar: which items are on display or in the mailer, in which store and week.

A retailer plans its promotions before the week starts, so the calendar of the challenge week is
legitimately known when challenges are built. The input has one row per item x store x week with a
``display`` and a ``mailer`` flag (``store_id`` may be left out: the row then holds in every store).

Two things are kept from it:

* the calendar per item and week (:data:`~engine.data.schema.PROMOTION_COLUMNS`): the share of the
  calendar's stores that week with the item on display, in the mailer, or either;
* per transaction line, whether its item was promoted at its store that week (``on_promotion``), from
  which the depth of an item's promotions is measured on earlier weeks (:mod:`engine.data.prices`).

Rows repeating an item x store x week are merged (a flag set in any of them holds) and counted in the
drop report: Complete Journey repeats 6,176 such keys from week 37 on with conflicting display flags.
Rows with neither flag set promote nothing and are removed, counted as well.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.data import schema as s
from engine.data.config import InvalidRowPolicy
from engine.data.schema import DropCount
from engine.data.validation import (
    RowCheck,
    apply_row_checks,
    coerce,
    require_columns,
    require_no_nulls,
    require_rows,
    row_examples,
)

#: Store id standing for "every store" when the promotions input has no ``store_id``.
ALL_STORES = -1


def _keys(item: pd.Series, store: pd.Series, week: pd.Series) -> np.ndarray:
    """One int64 per item x store x week, over the values of these three columns together."""
    item_code = pd.factorize(item)[0].astype(np.int64)
    store_code = pd.factorize(store)[0].astype(np.int64)
    week_code = week.to_numpy(dtype=np.int64) - int(week.min())
    n_store = int(store_code.max(initial=0)) + 1
    n_week = int(week_code.max(initial=0)) + 1
    key: np.ndarray = (item_code * n_store + store_code) * n_week + week_code
    return key


def _runs(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The order sorting ``key`` and the start of each run of equal keys in that order.

    Sorting, not hashing: on 20 million distinct keys a sort takes a second or two where pandas'
    hash-based ``duplicated`` and ``groupby`` take ten times longer.
    """
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    return order, starts


def clean_promotions(
    raw: pd.DataFrame, where: str, known_items: pd.Series, policy: InvalidRowPolicy
) -> tuple[pd.DataFrame, tuple[DropCount, ...]]:
    """Validate and deduplicate a promotions input table.

    Parameters
    ----------
    raw
        Canonical column names: ``item_id``, ``week`` and at least one of ``display`` and ``mailer``
        (a missing flag column reads as False); ``store_id`` optional.
    where
        The file, for messages.
    known_items
        Catalog item ids (already typed as the transactions' ids).
    policy
        The invalid-row policy: unknown items, weeks < 1 and rows with neither flag raise or are
        removed and counted.

    Returns
    -------
    tuple
        ``item_id, store_id, week, display, mailer`` rows (``store_id`` :data:`ALL_STORES` when the
        input has none), one per item x store x week, and the drop records.
    """
    require_rows(raw, where)
    require_columns(raw, [s.ITEM_ID, s.WEEK], where)
    if s.DISPLAY not in raw and s.MAILER not in raw:
        require_columns(raw, [s.DISPLAY, s.MAILER], where)  # names both in the message
    rows = pd.DataFrame(
        {s.ITEM_ID: coerce(raw, s.ITEM_ID, "id", where), s.WEEK: coerce(raw, s.WEEK, "int", where)}
    )
    rows[s.STORE_ID] = coerce(raw, s.STORE_ID, "id", where) if s.STORE_ID in raw else ALL_STORES
    for flag in (s.DISPLAY, s.MAILER):
        rows[flag] = coerce(raw, flag, "bool", where) if flag in raw else False
    require_no_nulls(rows, [s.ITEM_ID, s.STORE_ID], where)
    if known_items.dtype != rows[s.ITEM_ID].dtype:
        rows[s.ITEM_ID] = rows[s.ITEM_ID].astype("str")
        known_items = known_items.astype("str")
    checks = [
        RowCheck("promotions", s.ITEM_ID, "item not in the catalog", ~rows[s.ITEM_ID].isin(known_items)),
        RowCheck("promotions", s.WEEK, "week < 1", rows[s.WEEK] < 1),
        RowCheck(
            "promotions",
            s.DISPLAY,
            "neither display nor mailer set (promotes nothing)",
            ~(rows[s.DISPLAY] | rows[s.MAILER]),
        ),
    ]
    rows, drops = apply_row_checks(rows, checks, where, policy)
    columns = list(s.PROMOTION_INPUT_COLUMNS)
    if rows.empty:
        return rows.loc[:, columns], drops
    order, starts = _runs(_keys(rows[s.ITEM_ID], rows[s.STORE_ID], rows[s.WEEK]))
    if len(starts) == len(rows):
        return rows.loc[:, columns], drops
    # Merge repeats: the item was promoted that way in that store if any of its rows says so.
    repeated = np.ones(len(rows), dtype=bool)
    repeated[order[starts]] = False
    note = DropCount(
        "promotions",
        f"{s.STORE_ID}: item x store x week repeated, flags may differ; merged (a flag in any row holds)",
        int(repeated.sum()),
        row_examples(rows.loc[repeated, s.ITEM_ID]),
    )
    merged = rows.iloc[order[starts]].reset_index(drop=True)
    for flag in (s.DISPLAY, s.MAILER):
        merged[flag] = np.logical_or.reduceat(rows[flag].to_numpy(dtype=bool)[order], starts)
    return merged.loc[:, columns], (*drops, note)


def promotion_calendar(rows: pd.DataFrame) -> pd.DataFrame:
    """Per item and week: the share of stores with the item on display, in the mailer, or either.

    ``rows`` come from :func:`clean_promotions` (one per item x store x week). The denominator is the
    number of stores in the calendar that week; a chain-wide row (:data:`ALL_STORES`) is every store.
    """
    chain = rows[s.STORE_ID].to_numpy() == ALL_STORES
    local = rows[~chain]
    parts = []
    if len(local):
        week = local[s.WEEK].to_numpy(dtype=np.int64)
        store_code = pd.factorize(local[s.STORE_ID])[0].astype(np.int64)
        n_week = int(week.max()) + 1
        store_weeks = np.unique(store_code * n_week + week) % n_week
        stores_per_week = np.bincount(store_weeks, minlength=n_week).astype(np.float64)
        item_code = pd.factorize(local[s.ITEM_ID])[0].astype(np.int64)
        order, starts = _runs(item_code * n_week + week)
        first = order[starts]
        n_stores = stores_per_week[week[first]]
        counts = np.diff(np.r_[starts, len(order)]).astype(np.float64)
        parts.append(
            pd.DataFrame(
                {
                    s.ITEM_ID: local[s.ITEM_ID].to_numpy()[first],
                    s.WEEK: week[first],
                    s.PROMO_SHARE: counts / n_stores,
                    s.DISPLAY_SHARE: np.add.reduceat(local[s.DISPLAY].to_numpy()[order], starts) / n_stores,
                    s.MAILER_SHARE: np.add.reduceat(local[s.MAILER].to_numpy()[order], starts) / n_stores,
                }
            )
        )
    if chain.any():
        wide = rows[chain]
        parts.append(
            pd.DataFrame(
                {
                    s.ITEM_ID: wide[s.ITEM_ID].to_numpy(),
                    s.WEEK: wide[s.WEEK].to_numpy(dtype=np.int64),
                    s.PROMO_SHARE: 1.0,
                    s.DISPLAY_SHARE: wide[s.DISPLAY].to_numpy(dtype=np.float64),
                    s.MAILER_SHARE: wide[s.MAILER].to_numpy(dtype=np.float64),
                }
            )
        )
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in s.PROMOTION_COLUMNS})
    calendar = pd.concat(parts, ignore_index=True)
    if len(parts) > 1:
        # a chain-wide row covers every store: the larger share wins over the item's store rows
        calendar = calendar.groupby([s.ITEM_ID, s.WEEK], sort=False).max().reset_index()
    return calendar.sort_values([s.ITEM_ID, s.WEEK], kind="stable").reset_index(drop=True)


def promoted_lines(transactions: pd.DataFrame, stores: pd.Series | None, rows: pd.DataFrame) -> np.ndarray:
    """Whether each transaction line's item was promoted at the line's store in the line's week.

    A chain-wide promotion row holds in every store; when the transactions carry no store
    (``stores`` None) a line counts as promoted when its item was promoted in any store that week.
    """
    if rows.empty or transactions.empty:
        return np.zeros(len(transactions), dtype=bool)
    n_tx = len(transactions)
    chain = rows[s.STORE_ID].to_numpy() == ALL_STORES
    item = pd.concat([transactions[s.ITEM_ID], rows[s.ITEM_ID]], ignore_index=True)
    week = pd.concat([transactions[s.WEEK], rows[s.WEEK]], ignore_index=True)
    any_store = pd.Series(np.zeros(len(item), dtype=np.int64))
    if stores is None:
        key = _keys(item, any_store, week)
        return pd.Series(key[:n_tx]).isin(key[n_tx:]).to_numpy()
    tx_store, pr_store = stores.reset_index(drop=True), rows[s.STORE_ID].reset_index(drop=True)
    if tx_store.dtype != pr_store.dtype:
        tx_store, pr_store = tx_store.astype("str"), pr_store.astype("str")
    key = _keys(item, pd.concat([tx_store, pr_store], ignore_index=True), week)
    promoted: np.ndarray = pd.Series(key[:n_tx]).isin(key[n_tx:][~chain]).to_numpy()
    if chain.any():
        wide = _keys(item, any_store, week)
        promoted = promoted | pd.Series(wide[:n_tx]).isin(wide[n_tx:][chain]).to_numpy()
    return promoted
