"""The value of a new habit: what adopters of a category go on to spend in it, learned before the cutoff.

A stretch pick is worth more than its first purchase when the member keeps buying the category. Per
category, from the lines before the cutoff only:

adopters
    members whose first purchase of the category falls in the adoption window, weeks
    ``[c - horizon - window, c - horizon)`` for cutoff ``c`` (so the whole horizon after it lies before
    the cutoff), and who had shopped for at least ``min_history_weeks`` before it without buying the
    category (a first purchase in a member's first weeks of data is not an adoption, only a first sight);
``repeat_margin``
    the mean over adopters of the net margin (:func:`engine.data.prices.line_margins`: what the
    retailer received minus the units' cost) of their purchases of the category in the ``horizon``
    weeks after the adoption week (weeks ``f+1 .. f+horizon``), adopters who never came back counting 0;
``repeat_share``
    the share of adopters who bought the category again in that horizon.

Both are shrunk towards the department's adopters: ``(n x category + k x department) / (n + k)`` with
``n`` the category's adopters and ``k`` ``HabitParams.prior_adopters``; a department without adopters
falls back to all adopters, and data without any adopter (too few weeks) gives 0 (no habit value
claimed without evidence).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field, PositiveInt

from engine.config import StrictModel
from engine.data.prices import line_margins
from engine.data.schema import CATEGORY, DEPARTMENT, ITEM_ID, MEMBER_ID, WEEK

#: Columns of the artifact's ``categories`` table.
ADOPTERS = "adopters"
REPEAT_MARGIN = "repeat_margin"
REPEAT_SHARE = "repeat_share"
HABIT_COLUMNS: tuple[str, ...] = (CATEGORY, DEPARTMENT, ADOPTERS, REPEAT_MARGIN, REPEAT_SHARE)


class HabitParams(StrictModel):
    """How the repeat value of a category is estimated (``[habit]`` in ``configs/train.toml``)."""

    #: Weeks after the adoption week whose purchases of the category count as the new habit.
    horizon_weeks: PositiveInt = 8
    #: Weeks of first purchases that count as adoptions (ending ``horizon_weeks`` before the cutoff).
    adoption_window_weeks: PositiveInt = 26
    #: A member must have shopped this many weeks before a first purchase for it to be an adoption.
    min_history_weeks: PositiveInt = 8
    #: Pseudo-adopters at the department's values added to a category's own (shrinkage).
    prior_adopters: float = Field(default=20.0, ge=0)


def is_adoption(
    first_week: np.ndarray, member_first_week: np.ndarray, as_of_week: int, params: HabitParams
) -> np.ndarray:
    """Which first purchases of a category (``first_week``, by a member first seen in
    ``member_first_week``) are adoptions at cutoff ``as_of_week`` (module docstring): in the adoption
    window, so the whole horizon after them lies before the cutoff, and after ``min_history_weeks``."""
    start = as_of_week - params.horizon_weeks - params.adoption_window_weeks
    end = as_of_week - params.horizon_weeks
    history = first_week - member_first_week
    return np.asarray((first_week >= start) & (first_week < end) & (history >= params.min_history_weeks))


def _shrunk(value: pd.Series, n: pd.Series, prior: pd.Series, k: float) -> pd.Series:
    weight = n + k
    out = (n * value.fillna(0.0) + k * prior) / weight.where(weight > 0)
    return out.fillna(prior)


def category_habits(
    transactions: pd.DataFrame, priced: pd.DataFrame, as_of_week: int, params: HabitParams
) -> pd.DataFrame:
    """Per catalog category: adopters, shrunk ``repeat_margin`` and ``repeat_share`` (module docstring).

    Parameters
    ----------
    transactions
        Lines strictly before ``as_of_week`` (checked: a later line raises ``ValueError``).
    priced
        The catalog with ``unit_cost`` (:func:`engine.data.prices.item_prices`).
    as_of_week
        The cutoff.
    params
        Horizon, adoption window, history needed and shrinkage.

    Returns
    -------
    pandas.DataFrame
        :data:`HABIT_COLUMNS`, one row per category of ``priced``, sorted by category.
    """
    if len(transactions) and int(transactions[WEEK].max()) >= as_of_week:
        raise ValueError(f"category_habits: lines at or after the cutoff week {as_of_week} were passed")
    cats = priced.drop_duplicates(CATEGORY).set_index(CATEGORY)[DEPARTMENT].astype("str").sort_index()
    category_of = pd.Series(priced[CATEGORY].astype("str").to_numpy(), index=pd.Index(priced[ITEM_ID]))
    tx = pd.DataFrame(
        {
            MEMBER_ID: transactions[MEMBER_ID].to_numpy(),
            CATEGORY: transactions[ITEM_ID].map(category_of).to_numpy(),
            WEEK: transactions[WEEK].to_numpy(),
            "margin": line_margins(transactions, priced).fillna(0.0).to_numpy(),
        }
    )
    member_first = tx.groupby(MEMBER_ID)[WEEK].min()
    mcw = tx.groupby([MEMBER_ID, CATEGORY, WEEK], sort=False)["margin"].sum().reset_index()
    first = mcw.groupby([MEMBER_ID, CATEGORY], sort=False)[WEEK].min().rename("first").reset_index()
    seen = first[MEMBER_ID].map(member_first).to_numpy()
    adopt = first[is_adoption(first["first"].to_numpy(), seen, as_of_week, params)]
    later = mcw.merge(adopt, on=[MEMBER_ID, CATEGORY])
    after = later[WEEK].to_numpy() - later["first"].to_numpy()
    later = later[(after >= 1) & (after <= params.horizon_weeks)]
    repeat = later.groupby([MEMBER_ID, CATEGORY], sort=False)["margin"].sum()
    adopt = adopt.set_index([MEMBER_ID, CATEGORY])
    adopt["margin"] = repeat.reindex(adopt.index, fill_value=0.0)
    adopt["again"] = adopt.index.isin(repeat.index).astype(np.float64)
    adopt = adopt.reset_index()
    adopt[DEPARTMENT] = adopt[CATEGORY].map(cats).to_numpy()

    per_cat = adopt.groupby(CATEGORY).agg(
        n=("margin", "size"), margin=("margin", "mean"), again=("again", "mean")
    )
    per_dept = adopt.groupby(DEPARTMENT)[["margin", "again"]].mean()
    overall_margin = float(adopt["margin"].mean()) if len(adopt) else 0.0
    overall_again = float(adopt["again"].mean()) if len(adopt) else 0.0
    out = pd.DataFrame({CATEGORY: cats.index, DEPARTMENT: cats.to_numpy()})
    n = out[CATEGORY].map(per_cat["n"]).fillna(0).astype(np.int64)
    prior_margin = out[DEPARTMENT].map(per_dept["margin"]).fillna(overall_margin)
    prior_again = out[DEPARTMENT].map(per_dept["again"]).fillna(overall_again)
    k = params.prior_adopters
    out[ADOPTERS] = n
    out[REPEAT_MARGIN] = _shrunk(out[CATEGORY].map(per_cat["margin"]), n, prior_margin, k)
    out[REPEAT_SHARE] = _shrunk(out[CATEGORY].map(per_cat["again"]), n, prior_again, k)
    return out.loc[:, list(HABIT_COLUMNS)].reset_index(drop=True)
