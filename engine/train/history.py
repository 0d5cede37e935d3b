"""Purchase-history tables indexed once, then cut at any week without touching later data.

Training needs the same history features at several cutoffs (the label weeks of the ranker and the
challenge week itself). :class:`History` aggregates the transactions once into small per-week tables
keyed by LightFM indices (member x item x week, member x category x week, ...); :meth:`History.upto`
and friends then only ever read rows with ``week < cutoff``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.data.schema import (
    BASKET_ID,
    CATEGORY,
    DEPARTMENT,
    EXCLUDED,
    ITEM_ID,
    MARGIN_RATE,
    MEMBER_ID,
    PRICE,
    SALES_VALUE,
    WEEK,
)
from engine.train.features import IdMap

MEMBER_IDX = "member_idx"
ITEM_IDX = "item_idx"
CATEGORY_IDX = "category_idx"
DEPARTMENT_IDX = "department_idx"
BASKETS = "baskets"


def sample_members(members: np.ndarray, size: int, seed: int | list[int]) -> np.ndarray:
    """``size`` of ``members`` drawn without replacement with ``seed``, sorted; all of them when fewer.

    Returns
    -------
    numpy.ndarray
        Int64 ``member_idx``: ``members`` as given when it has at most ``size``, else a sorted sample.
    """
    members = np.asarray(members, dtype=np.int64)
    if len(members) <= size:
        return members
    return np.sort(np.random.default_rng(seed).choice(members, size=size, replace=False))


@dataclass(frozen=True)
class History:
    """Per-week aggregates of the training transactions, with the id maps that index them.

    Attributes
    ----------
    members, items, categories, departments
        Id maps; ``members`` and ``items`` hold those seen in the transactions, ``categories`` and
        ``departments`` those of the whole catalog.
    member_item_week
        ``member_idx, item_idx, week, baskets`` (distinct baskets with the item that week).
    member_week
        ``member_idx, week, baskets, sales_value``.
    member_category_week
        ``member_idx, category_idx, week, sales_value`` for every week a member bought in a category.
    member_department_spend
        ``member_idx, department_idx, week, sales_value``.
    item_category_idx, category_department_idx
        Category index of each item index; department index of each category index.
    unit_margin
        ``price * margin_rate`` per item index.
    excluded
        Per item index: never carries an offer.
    """

    members: IdMap
    items: IdMap
    categories: IdMap
    departments: IdMap
    member_item_week: pd.DataFrame
    member_week: pd.DataFrame
    member_category_week: pd.DataFrame
    member_department_spend: pd.DataFrame
    item_category_idx: np.ndarray
    category_department_idx: np.ndarray
    unit_margin: np.ndarray
    excluded: np.ndarray

    @classmethod
    def build(cls, transactions: pd.DataFrame, catalog: pd.DataFrame) -> History:
        """Aggregate ``transactions`` (already cut at the final cutoff) against ``catalog``."""
        members = IdMap.from_values(transactions[MEMBER_ID])
        items = IdMap.from_values(transactions[ITEM_ID])
        cat = catalog.set_index(ITEM_ID)
        categories = IdMap.from_values(catalog[CATEGORY].astype("str"))
        departments = IdMap.from_values(catalog[DEPARTMENT].astype("str"))
        item_rows = cat.reindex(items.ids)
        item_category_idx = categories.to_idx(item_rows[CATEGORY].astype("str"))
        first_dept = catalog.drop_duplicates(CATEGORY).set_index(CATEGORY)[DEPARTMENT].astype("str")
        category_department_idx = departments.to_idx(first_dept.reindex(categories.ids).to_numpy())
        tx = pd.DataFrame(
            {
                MEMBER_IDX: members.to_idx(transactions[MEMBER_ID]).astype(np.int32),
                ITEM_IDX: items.to_idx(transactions[ITEM_ID]).astype(np.int32),
                WEEK: transactions[WEEK].to_numpy(dtype=np.int32),
                BASKET_ID: transactions[BASKET_ID].to_numpy(),
                SALES_VALUE: transactions[SALES_VALUE].to_numpy(dtype=np.float64),
            }
        )
        tx[CATEGORY_IDX] = item_category_idx[tx[ITEM_IDX].to_numpy()].astype(np.int32)
        tx[DEPARTMENT_IDX] = category_department_idx[tx[CATEGORY_IDX].to_numpy()].astype(np.int32)
        miw = tx.groupby([MEMBER_IDX, ITEM_IDX, WEEK], sort=False)[BASKET_ID].nunique().rename(BASKETS)
        mw = tx.groupby([MEMBER_IDX, WEEK], sort=False).agg(
            baskets=(BASKET_ID, "nunique"), sales_value=(SALES_VALUE, "sum")
        )
        mcw = tx.groupby([MEMBER_IDX, CATEGORY_IDX, WEEK], sort=False)[SALES_VALUE].sum()
        mds = tx.groupby([MEMBER_IDX, DEPARTMENT_IDX, WEEK], sort=False)[SALES_VALUE].sum()
        unit_margin = (item_rows[PRICE] * item_rows[MARGIN_RATE]).to_numpy(dtype=np.float64)
        return cls(
            members=members,
            items=items,
            categories=categories,
            departments=departments,
            member_item_week=miw.reset_index(),
            member_week=mw.reset_index(),
            member_category_week=mcw.reset_index(),
            member_department_spend=mds.reset_index(),
            item_category_idx=item_category_idx,
            category_department_idx=category_department_idx,
            unit_margin=np.nan_to_num(unit_margin, nan=0.0),
            excluded=item_rows[EXCLUDED].fillna(True).to_numpy(dtype=bool),
        )

    @staticmethod
    def _before(frame: pd.DataFrame, week: int) -> pd.DataFrame:
        return frame[frame[WEEK].to_numpy() < week]

    def member_item(self, week: int) -> pd.DataFrame:
        """Member x item x week rows strictly before ``week``."""
        return self._before(self.member_item_week, week)

    def member_weeks(self, week: int) -> pd.DataFrame:
        """Member x week rows strictly before ``week``."""
        return self._before(self.member_week, week)

    def member_categories(self, week: int) -> pd.DataFrame:
        """Member x category x week rows strictly before ``week``."""
        return self._before(self.member_category_week, week)

    def department_spend(self, week: int) -> pd.DataFrame:
        """Member x department x week spend strictly before ``week``."""
        return self._before(self.member_department_spend, week)

    def bought_in_week(self, week: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Labels of a week: the (member, item) and (member, category) index pairs bought in it."""
        miw = self.member_item_week
        mcw = self.member_category_week
        items = miw.loc[miw[WEEK].to_numpy() == week, [MEMBER_IDX, ITEM_IDX]]
        cats = mcw.loc[mcw[WEEK].to_numpy() == week, [MEMBER_IDX, CATEGORY_IDX]]
        return items.reset_index(drop=True), cats.reset_index(drop=True)

    def member_stats(self, week: int, recent_weeks: int) -> pd.DataFrame:
        """Per member active before ``week``: activity features, indexed by ``member_idx``."""
        mw = self.member_weeks(week)
        g = mw.groupby(MEMBER_IDX, sort=True)
        stats = g.agg(
            active_weeks=(WEEK, "size"),
            first_week=(WEEK, "min"),
            last_week=(WEEK, "max"),
            total_baskets=(BASKETS, "sum"),
            spend=(SALES_VALUE, "sum"),
        )
        recent = mw[mw[WEEK].to_numpy() >= week - recent_weeks].groupby(MEMBER_IDX)[BASKETS].sum()
        stats["recent_baskets"] = recent.reindex(stats.index, fill_value=0)
        tenure = (week - stats["first_week"]).clip(lower=1)
        stats["baskets_per_week"] = stats["total_baskets"] / tenure
        stats["active_share"] = stats["active_weeks"] / tenure
        stats["weeks_since_visit"] = week - stats["last_week"]
        return stats
