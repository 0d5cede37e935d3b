"""In-store promotions (display and mailer): promoted weeks vs unpromoted weeks of the same household.

A promotion at a household's main store (the store with most of its lines in the history weeks) is
taken as the offer. Weeks after ``history_weeks`` are compared within
strata of one household x product (or category) x block of ``block_weeks`` weeks: the Mantel-Haenszel
odds ratio of buying in a promoted week vs an unpromoted one. Taste, the household's habits and slow
seasonality drop out with the stratum.

Habitual: household x product pairs bought in at least ``habitual_min_weeks`` distinct history weeks;
the outcome is buying the product in the week. Stretch: household x category pairs never bought in
the history weeks, at risk until their first purchase (a case-crossover design: only blocks holding a
first purchase carry information); the category counts as promoted when one of its ``top_products``
most-bought products is on display or in the mailer.

Assumptions (observational data): within a few weeks, the retailer does not time a promotion on a
household's own demand (it plans the calendar per store, in advance); the weeks of a stratum are
comparable but for the promotion. The promotion usually comes with a price cut, so
this is the effect of a promotion as the retailer runs it, not of a loyalty offer alone, and its
timing on seasonal peaks shorter than a block inflates it. An upper reference, not the file's source
by default.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from engine.lift.bootstrap import FloatArray, safe_log_ratio
from engine.lift.config import PromotionParams
from engine.lift.panel import IntArray, Panel, sorted_unique
from engine.lift.sources import PromotionTables

BoolArray = npt.NDArray[np.bool_]

#: Cells per household and department: Mantel-Haenszel numerator, denominator, informative strata.
PROMO_CELLS = 3
#: Weeks are packed into keys with this many slots (more than any calendar's weeks).
_WEEK_SLOTS = 128


def main_stores(tables: PromotionTables, panel: Panel, history_weeks: int) -> IntArray:
    """Each household's store with most lines in weeks up to ``history_weeks`` (-1 when none)."""
    tx = tables.purchases
    hist = tx[tx["week"] <= history_weeks]
    counts = hist.groupby(["household_id", "store_id"]).size().reset_index(name="n")
    best = counts.sort_values(["household_id", "n", "store_id"], ascending=[True, False, True])
    best = best.drop_duplicates("household_id").set_index("household_id")["store_id"]
    return best.reindex(panel.households).fillna(-1).to_numpy(np.int64)


def _key(item: IntArray, store: IntArray, week: IntArray, n_stores: int) -> IntArray:
    return (item * n_stores + store) * _WEEK_SLOTS + week


def _lookup(keys: IntArray, promoted: IntArray) -> BoolArray:
    """Whether each key is in the sorted array ``promoted``."""
    if promoted.size == 0:
        return np.zeros(keys.size, dtype=bool)
    pos = np.clip(np.searchsorted(promoted, keys), 0, promoted.size - 1)
    return np.asarray(promoted[pos] == keys, dtype=bool)


def _mh(stratum: IntArray, treated: BoolArray, bought: BoolArray) -> tuple[IntArray, FloatArray, FloatArray]:
    """Per stratum: (stratum ids, MH numerator a*d/n, MH denominator b*c/n)."""
    ids, inv = sorted_unique(stratum)
    t, y = treated.astype(np.float64), bought.astype(np.float64)
    n = np.bincount(inv, minlength=ids.size).astype(np.float64)
    a = np.bincount(inv, weights=t * y, minlength=ids.size)
    b = np.bincount(inv, weights=t * (1 - y), minlength=ids.size)
    c = np.bincount(inv, weights=(1 - t) * y, minlength=ids.size)
    d = np.bincount(inv, weights=(1 - t) * (1 - y), minlength=ids.size)
    return ids, a * d / n, b * c / n


def _scatter(panel: Panel, hh: IntArray, dept: IntArray, num: FloatArray, den: FloatArray) -> FloatArray:
    n_dept = len(panel.departments)
    key, size = hh * n_dept + dept, panel.n_households * n_dept
    informative = ((num + den) > 0).astype(np.float64)
    cols = [np.bincount(key, weights=v, minlength=size).astype(np.float64) for v in (num, den, informative)]
    return np.stack(cols, axis=-1).reshape(panel.n_households, n_dept, PROMO_CELLS)


def _store_index(
    tables: PromotionTables, panel: Panel, stores: IntArray
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Promotions of panel products at the households' main stores: (product index, store index, week)
    and the store ids indexed."""
    store_ids = np.unique(stores[stores >= 0])
    promo = tables.promotions
    at = promo[promo["store_id"].isin(store_ids) & promo["product_id"].isin(panel.product_ids)]
    return (
        np.searchsorted(panel.product_ids, at["product_id"].to_numpy(np.int64)),
        np.searchsorted(store_ids, at["store_id"].to_numpy(np.int64)),
        at["week"].to_numpy(np.int64),
        store_ids,
    )


def habitual_cells(
    tables: PromotionTables, panel: Panel, params: PromotionParams, min_weeks: int
) -> FloatArray:
    """``(households, departments, PROMO_CELLS)`` for habitual pairs (see module doc)."""
    stores = main_stores(tables, panel, params.history_weeks)
    p_item, p_store, p_week, store_ids = _store_index(tables, panel, stores)
    promoted = np.sort(_key(p_item, p_store, p_week, store_ids.size))
    hist = panel.week <= params.history_weeks
    weeks_bought = np.bincount(panel.pair[hist], minlength=panel.pair_hh.size)
    pairs = np.flatnonzero((weeks_bought >= min_weeks) & (stores[panel.pair_hh] >= 0))
    weeks = np.arange(params.history_weeks + 1, panel.last_week + 1)
    # every (pair, analysis week), shopping week or not: conditioning on a trip would condition on
    # the purchase itself (a trip made for the promoted item) and bias the odds ratio towards 1
    pair = np.repeat(pairs, weeks.size)
    week = np.tile(weeks, pairs.size)
    bought_keys = np.sort(panel.pair[~hist] * _WEEK_SLOTS + panel.week[~hist])
    bought = _lookup(pair * _WEEK_SLOTS + week, bought_keys)
    store = np.searchsorted(store_ids, stores[panel.pair_hh[pair]])
    treated = _lookup(_key(panel.pair_product[pair], store, week, store_ids.size), promoted)
    block = (week - params.history_weeks - 1) // params.block_weeks
    ids, num, den = _mh(pair * _WEEK_SLOTS + block, treated, bought)
    sp = ids // _WEEK_SLOTS
    return _scatter(panel, panel.pair_hh[sp], panel.pair_dept[sp], num, den)


def _category_promoted(
    tables: PromotionTables, panel: Panel, params: PromotionParams, stores: IntArray
) -> tuple[IntArray, IntArray]:
    """Sorted keys of promoted category x store x week, and the store ids indexed."""
    hist = panel.week <= params.history_weeks
    reach = pd.Series(panel.hh[hist]).groupby(panel.product[hist]).nunique()
    frame = pd.DataFrame({"item": reach.index.to_numpy(), "reach": reach.to_numpy()})
    frame["cat"] = panel.product_cat[frame["item"].to_numpy()]
    top = (
        frame.sort_values(["cat", "reach"], ascending=[True, False]).groupby("cat").head(params.top_products)
    )
    p_item, p_store, p_week, store_ids = _store_index(tables, panel, stores)
    is_top = np.zeros(panel.product_ids.size, dtype=bool)
    is_top[top["item"].to_numpy(np.int64)] = True
    m = is_top[p_item]
    cat = panel.product_cat[p_item[m]]
    return np.sort(_key(cat, p_store[m], p_week[m], store_ids.size)), store_ids


def stretch_cells(tables: PromotionTables, panel: Panel, params: PromotionParams) -> FloatArray:
    """``(households, departments, PROMO_CELLS)`` for first purchases of never-bought categories."""
    stores = main_stores(tables, panel, params.history_weeks)
    promoted, store_ids = _category_promoted(tables, panel, params, stores)
    first = panel.cat_first
    events = np.flatnonzero((first > params.history_weeks) & (stores[panel.cat_hh] >= 0))
    rows_hh, rows_cat, rows_week, rows_y = [], [], [], []
    for e in events:  # one block per first purchase: cheap, events are few
        f = int(first[e])
        block = (f - params.history_weeks - 1) // params.block_weeks
        lo = params.history_weeks + 1 + block * params.block_weeks
        h = int(panel.cat_hh[e])
        wk = np.arange(lo, f + 1)
        rows_hh.append(np.full(wk.size, h))
        rows_cat.append(np.full(wk.size, panel.cat[e]))
        rows_week.append(wk)
        rows_y.append(wk == f)
    if not events.size:
        return np.zeros((panel.n_households, len(panel.departments), PROMO_CELLS))
    hh, cat, week = np.concatenate(rows_hh), np.concatenate(rows_cat), np.concatenate(rows_week)
    bought = np.concatenate(rows_y)
    store = np.searchsorted(store_ids, stores[hh])
    treated = _lookup(_key(cat, store, week, store_ids.size), promoted)
    stratum = np.repeat(np.arange(events.size), [r.size for r in rows_week])
    ids, num, den = _mh(stratum, treated, bought)
    return _scatter(panel, panel.cat_hh[events[ids]], panel.category_dept[panel.cat[events[ids]]], num, den)


def promo_statistic(sums: FloatArray) -> FloatArray:
    """``beta`` = log of the Mantel-Haenszel odds ratio from sums shaped ``(..., PROMO_CELLS)``."""
    return safe_log_ratio(sums[..., 0], sums[..., 1])
