"""The purchases as integer arrays: which household bought which product (category) in which week.

Both estimators (:mod:`engine.lift.campaigns`, :mod:`engine.lift.promos`) count purchase *weeks*: a
product bought twice in a week is one purchase week, the unit of a weekly challenge.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from engine.lift.sources import PromotionTables

IntArray = npt.NDArray[np.int64]
#: Department label of products the catalog does not place.
UNKNOWN_DEPARTMENT = "UNKNOWN"


@dataclass(frozen=True)
class Panel:
    """Distinct household x product x week purchases and the lookups the estimators share.

    ``households[i]`` is household index ``i``'s id; ``departments[d]`` department index ``d``'s name.
    ``pair`` numbers the distinct household x product pairs; ``pair_*`` describe each pair;
    ``cat_first`` holds each household x category pair's first purchase week.
    """

    households: IntArray
    departments: tuple[str, ...]
    first_week: int
    last_week: int
    # one row per distinct household x product x week
    hh: IntArray
    product: IntArray
    week: IntArray
    pair: IntArray
    # one row per household x product pair
    pair_hh: IntArray
    pair_product: IntArray
    pair_dept: IntArray
    # products and categories, by index
    product_ids: IntArray
    product_dept: IntArray
    product_cat: IntArray
    category_dept: IntArray
    # one row per household x category pair ever bought
    cat_hh: IntArray
    cat: IntArray
    cat_first: IntArray

    @property
    def n_households(self) -> int:
        """Number of households."""
        return int(self.households.size)

    def product_index(self, product_ids: npt.ArrayLike) -> IntArray:
        """Indices of the given product ids that the panel knows (unknown ids are left out)."""
        ids = np.asarray(product_ids, dtype=np.int64)
        pos = np.searchsorted(self.product_ids, ids)
        pos = np.clip(pos, 0, self.product_ids.size - 1)
        return np.unique(pos[self.product_ids[pos] == ids])

    def household_index(self, household_ids: npt.ArrayLike) -> IntArray:
        """Indices of the given household ids that the panel knows."""
        ids = np.asarray(household_ids, dtype=np.int64)
        pos = np.clip(np.searchsorted(self.households, ids), 0, self.households.size - 1)
        return np.unique(pos[self.households[pos] == ids])


def sorted_unique(values: IntArray) -> tuple[IntArray, IntArray]:
    """Sorted distinct values and each value's index among them (a sort: numpy's hashing unique is slow
    on tens of millions of int64 keys)."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.ones(ordered.size, dtype=bool)
    starts[1:] = ordered[1:] != ordered[:-1]
    inverse = np.empty(values.size, dtype=np.int64)
    inverse[order] = np.cumsum(starts) - 1
    return ordered[starts], inverse


def build_panel(tables: PromotionTables) -> Panel:
    """Index the purchases of ``tables`` (departments sorted by name, categories placed by majority)."""
    buys = tables.purchases[["household_id", "product_id", "week"]].drop_duplicates()
    households = np.unique(buys["household_id"].to_numpy(np.int64))
    product_ids = np.unique(buys["product_id"].to_numpy(np.int64))
    catalog = (
        tables.products.drop_duplicates("product_id")
        .set_index("product_id")
        .reindex(product_ids)
        .fillna({"department": UNKNOWN_DEPARTMENT, "category": UNKNOWN_DEPARTMENT})
    )
    departments = tuple(sorted(catalog["department"].unique()))
    product_dept = np.searchsorted(np.array(departments, dtype=object), catalog["department"].to_numpy())
    cat_codes, cat_names = pd.factorize(catalog["category"], sort=True)
    # a category belongs to the department most of its products are in
    votes = pd.DataFrame({"cat": cat_codes, "dept": product_dept}).value_counts().reset_index()
    category_dept = (
        (votes.sort_values("count", ascending=False).drop_duplicates("cat").set_index("cat")["dept"])
        .reindex(np.arange(len(cat_names)))
        .to_numpy(np.int64)
    )
    hh = np.searchsorted(households, buys["household_id"].to_numpy(np.int64))
    product = np.searchsorted(product_ids, buys["product_id"].to_numpy(np.int64))
    week = buys["week"].to_numpy(np.int64)
    pair_key = hh * product_ids.size + product
    keys, pair = np.unique(pair_key, return_inverse=True)
    cat = cat_codes[product]
    cat_key = hh * len(cat_names) + cat
    first = pd.Series(week).groupby(cat_key).min()
    cat_keys = first.index.to_numpy(np.int64)
    return Panel(
        households=households,
        departments=departments,
        first_week=int(week.min()),
        last_week=int(week.max()),
        hh=hh,
        product=product,
        week=week,
        pair=pair.astype(np.int64),
        pair_hh=keys // product_ids.size,
        pair_product=keys % product_ids.size,
        pair_dept=product_dept[keys % product_ids.size].astype(np.int64),
        product_ids=product_ids,
        product_dept=product_dept.astype(np.int64),
        product_cat=cat_codes.astype(np.int64),
        category_dept=category_dept,
        cat_hh=cat_keys // len(cat_names),
        cat=cat_keys % len(cat_names),
        cat_first=first.to_numpy(np.int64),
    )
