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


def _codes(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Dense int64 codes of ``values`` in the values' sort order, and the values they stand for.

    Sorted codes keep keys built from rows already sorted by value in order, so later steps skip a sort.
    """
    codes, uniques = pd.factorize(values, sort=True)
    return codes.astype(np.int64), pd.Index(uniques)


def _key(item: np.ndarray, week: np.ndarray, store: np.ndarray, n_week: int, n_store: int) -> np.ndarray:
    """One int64 per item x week x store code, ordered item first, then week, then store.

    That order puts an item's weeks, and a week's stores, next to each other once sorted, so one sort
    serves deduplication, the calendar per item-week and the look-up of transaction lines.
    """
    key: np.ndarray = (item * n_week + week) * n_store + store
    return key


def _sorted(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The order sorting ``key`` (none needed when it already is) and the start of each run of equal keys.

    Sorting, not hashing: on 20 million distinct keys a sort takes a second or two where pandas'
    hash-based ``duplicated`` and ``groupby`` take ten times longer.
    """
    order = np.arange(len(key)) if bool(np.all(key[1:] >= key[:-1])) else np.argsort(key, kind="stable")
    ordered = key[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    return order, starts


def clean_promotions(
    raw: pd.DataFrame, where: str, known_items: pd.Series, policy: InvalidRowPolicy
) -> tuple[pd.DataFrame, tuple[DropCount, ...]]:
    """Validate and deduplicate a promotions input table; rows come out sorted by item, week and store.

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
    item, _ = _codes(rows[s.ITEM_ID])
    store, _ = _codes(rows[s.STORE_ID])
    week = rows[s.WEEK].to_numpy(dtype=np.int64)
    n_week, n_store = int(week.max()) + 1, int(store.max()) + 1
    order, starts = _sorted(_key(item, week, store, n_week, n_store))
    if len(starts) == len(rows):
        return rows.iloc[order].reset_index(drop=True).loc[:, columns], drops
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
    local = rows[~chain] if chain.any() else rows
    parts = []
    if len(local):
        week = local[s.WEEK].to_numpy(dtype=np.int64)
        store, _ = _codes(local[s.STORE_ID])
        item, _ = _codes(local[s.ITEM_ID])
        n_week, n_store = int(week.max()) + 1, int(store.max()) + 1
        in_calendar = np.zeros((n_week, n_store), dtype=bool)
        in_calendar[week, store] = True
        stores_per_week = in_calendar.sum(axis=1).astype(np.float64)
        # rows from clean_promotions are sorted by item then week: runs of one item-week, no sort needed
        order, starts = _sorted(_key(item, week, np.zeros_like(item), n_week, 1))
        first = order[starts]
        n_stores = stores_per_week[week[first]]
        counts = np.diff(np.r_[starts, len(order)]).astype(np.float64)
        display = local[s.DISPLAY].to_numpy(dtype=np.int64)[order]
        mailer = local[s.MAILER].to_numpy(dtype=np.int64)[order]
        parts.append(
            pd.DataFrame(
                {
                    s.ITEM_ID: local[s.ITEM_ID].to_numpy()[first],
                    s.WEEK: week[first],
                    s.PROMO_SHARE: counts / n_stores,
                    s.DISPLAY_SHARE: np.add.reduceat(display, starts) / n_stores,
                    s.MAILER_SHARE: np.add.reduceat(mailer, starts) / n_stores,
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
    calendar = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    if len(parts) > 1:
        # a chain-wide row covers every store: the larger share wins over the item's store rows
        calendar = calendar.groupby([s.ITEM_ID, s.WEEK], sort=False).max().reset_index()
    return calendar.sort_values([s.ITEM_ID, s.WEEK], kind="stable").reset_index(drop=True)


def _in_sorted(needles: np.ndarray, haystack: np.ndarray) -> np.ndarray:
    """Whether each of ``needles`` is in ``haystack`` (sorted first unless it already is)."""
    if len(haystack) == 0:
        return np.zeros(len(needles), dtype=bool)
    if not bool(np.all(haystack[1:] >= haystack[:-1])):
        haystack = np.sort(haystack)
    at = np.minimum(np.searchsorted(haystack, needles), len(haystack) - 1)
    found: np.ndarray = haystack[at] == needles
    return found


def promoted_lines(transactions: pd.DataFrame, stores: pd.Series | None, rows: pd.DataFrame) -> np.ndarray:
    """Whether each transaction line's item was promoted at the line's store in the line's week.

    A chain-wide promotion row holds in every store; when the transactions carry no store
    (``stores`` None) a line counts as promoted when its item was promoted in any store that week.
    """
    if rows.empty or transactions.empty:
        return np.zeros(len(transactions), dtype=bool)
    item, items = _codes(rows[s.ITEM_ID])
    week = rows[s.WEEK].to_numpy(dtype=np.int64)
    tx_week = transactions[s.WEEK].to_numpy(dtype=np.int64)
    n_week = int(max(week.max(), tx_week.max(), 0)) + 1
    tx_week = tx_week.clip(min=0)
    tx_item = items.get_indexer(transactions[s.ITEM_ID])  # -1: never promoted
    known = tx_item >= 0
    chain = rows[s.STORE_ID].to_numpy() == ALL_STORES
    if stores is None:
        promo = _key(item, week, np.zeros_like(item), n_week, 1)
        lines = _key(tx_item, tx_week, np.zeros_like(tx_item), n_week, 1)
        return known & _in_sorted(lines, np.unique(promo))
    local = ~chain
    store, store_ids = _codes(rows[s.STORE_ID][local])
    n_store = int(store.max(initial=0)) + 1
    tx_stores = stores.reset_index(drop=True)
    if tx_stores.dtype != store_ids.dtype:
        tx_stores, store_ids = tx_stores.astype("str"), store_ids.astype("str")
    tx_store = store_ids.get_indexer(tx_stores)
    known_store = known & (tx_store >= 0)
    promo = _key(item[local], week[local], store, n_week, n_store)
    lines = _key(tx_item, tx_week, tx_store.clip(min=0), n_week, n_store)
    promoted: np.ndarray = known_store & _in_sorted(lines, promo)
    if chain.any():
        wide = _key(item[chain], week[chain], np.zeros(int(chain.sum()), dtype=np.int64), n_week, 1)
        lines_any = _key(tx_item, tx_week, np.zeros_like(tx_item), n_week, 1)
        promoted = promoted | (known & _in_sorted(lines_any, np.unique(wide)))
    return promoted
