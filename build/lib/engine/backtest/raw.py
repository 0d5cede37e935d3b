"""Raw baselines: the challenge a member would get with no model and no rules, from the transactions alone.

For a cutoff ``c`` everything here reads weeks ``< c`` only (later rows are refused with
:func:`~engine.backtest.history.check_before`), and nothing is filtered by the rules: excluded items,
thin margins, durables and guards do not exist for a raw baseline.

raw habitual  each member's two most-bought products: the most baskets before ``c``; ties go to the
              product bought in the later week, then to the smaller item id.
raw stretch   the most popular category among those the member never bought before ``c`` (in any
              week). Popularity is the share of the *shoppers of the popularity window* (members with
              any purchase in weeks ``c - popularity_weeks .. c - 1``) who bought in the category in
              that window; ties go to the category name. Categories nobody bought in the window are
              never picked. Lines whose item has no category in the catalog count for no category.
raw challenge the two raw habitual products and the raw stretch category together.

The frame has the columns the member-facing measurement reads (:data:`PICK_COLUMNS`), one row per
member with any purchase before ``c``. ``habitual_1``/``habitual_2`` are missing for a member with
fewer than two distinct products, ``stretch_category`` for a member who bought every popular category.
"""

from __future__ import annotations

import pandas as pd

from engine.backtest.history import check_before, member_item_counts
from engine.data.schema import CATEGORY, ITEM_ID, MEMBER_ID, WEEK

#: What a challenge is for the member-facing metrics: two products and a category per member.
PICK_COLUMNS: tuple[str, ...] = (MEMBER_ID, "habitual_1", "habitual_2", "stretch_category")


def _ids_like(values: pd.Series, like: pd.Series) -> pd.Series:
    """``values`` (ids, NaN where missing) in the nullable dtype of the id column ``like``."""
    if pd.api.types.is_integer_dtype(like.dtype):
        return values.astype("Int64")
    return values.astype("string")


def raw_habitual(transactions: pd.DataFrame, as_of_week: int) -> pd.DataFrame:
    """Each member's two most-bought products before ``as_of_week`` (see module docstring).

    Returns
    -------
    pandas.DataFrame
        ``member_id``, ``habitual_1``, ``habitual_2``: one row per member with any purchase.
    """
    check_before(transactions, as_of_week, "raw habitual baseline")
    counts = member_item_counts(transactions)
    ordered = counts.sort_values(
        [MEMBER_ID, "n_baskets", "last_week", ITEM_ID], ascending=[True, False, False, True], kind="mergesort"
    )
    rank = ordered.groupby(MEMBER_ID, sort=False).cumcount()
    members = pd.Index(pd.unique(ordered[MEMBER_ID]), name=MEMBER_ID)
    out = pd.DataFrame({MEMBER_ID: members.to_numpy()})
    for slot in (0, 1):
        top = ordered[rank == slot].set_index(MEMBER_ID)[ITEM_ID]
        column = pd.Series(members.map(top), index=out.index)
        out[f"habitual_{slot + 1}"] = _ids_like(column, transactions[ITEM_ID])
    return out


def category_popularity(
    transactions: pd.DataFrame, catalog: pd.DataFrame, as_of_week: int, weeks: int
) -> pd.Series:
    """Share of the window's shoppers who bought in each category, over weeks ``as_of_week - weeks .. - 1``.

    Returns
    -------
    pandas.Series
        Index ``category``, values in (0, 1], sorted from the most popular (ties: category name).
    """
    check_before(transactions, as_of_week, "raw category popularity")
    window = transactions[transactions[WEEK] >= as_of_week - weeks]
    shoppers = window[MEMBER_ID].nunique()
    lines = window.join(catalog.set_index(ITEM_ID)[[CATEGORY]], on=ITEM_ID)
    lines = lines[lines[CATEGORY].notna()]
    buyers = lines.groupby(CATEGORY, sort=False)[MEMBER_ID].nunique()
    share = (buyers / shoppers).astype("float64") if shoppers else buyers.astype("float64")
    frame = share.rename("share").reset_index().sort_values(["share", CATEGORY], ascending=[False, True])
    return frame.set_index(CATEGORY)["share"]


def raw_stretch(
    transactions: pd.DataFrame, catalog: pd.DataFrame, as_of_week: int, popularity_weeks: int
) -> pd.DataFrame:
    """Each member's most popular never-bought category (see module docstring).

    Returns
    -------
    pandas.DataFrame
        ``member_id``, ``stretch_category`` (missing when every popular category was bought).
    """
    popularity = category_popularity(transactions, catalog, as_of_week, popularity_weeks)
    order = pd.Series(range(len(popularity)), index=popularity.index)
    lines = transactions.join(catalog.set_index(ITEM_ID)[[CATEGORY]], on=ITEM_ID)
    bought = lines.loc[lines[CATEGORY].notna(), [MEMBER_ID, CATEGORY]].drop_duplicates()
    members = pd.Index(pd.unique(transactions[MEMBER_ID]))
    # each member's first category in popularity order that is not among theirs: walk the popularity
    # list once per member through a member x category grid (a few hundred categories)
    grid = pd.DataFrame(
        {
            MEMBER_ID: members.repeat(len(order)),
            CATEGORY: list(order.index) * len(members),
            "order": list(order.to_numpy()) * len(members),
        }
    )
    grid = grid.merge(bought.assign(_bought=True), on=[MEMBER_ID, CATEGORY], how="left")
    new = grid[grid["_bought"].isna()].sort_values([MEMBER_ID, "order"], kind="mergesort")
    first = new.drop_duplicates(MEMBER_ID).set_index(MEMBER_ID)[CATEGORY]
    return pd.DataFrame(
        {MEMBER_ID: members.to_numpy(), "stretch_category": pd.Series(members.map(first)).astype("string")}
    )


def raw_challenges(
    transactions: pd.DataFrame, catalog: pd.DataFrame, as_of_week: int, popularity_weeks: int
) -> pd.DataFrame:
    """The raw baseline challenge of every member with a purchase before ``as_of_week``.

    Parameters
    ----------
    transactions
        Canonical transactions, every row with ``week < as_of_week`` (later rows are refused).
    catalog
        Canonical catalog: gives each line its category.
    as_of_week
        The cutoff: the challenge is for this week.
    popularity_weeks
        The popularity window (see module docstring).

    Returns
    -------
    pandas.DataFrame
        :data:`PICK_COLUMNS`, one row per member, sorted by member.
    """
    habitual = raw_habitual(transactions, as_of_week)
    stretch = raw_stretch(transactions, catalog, as_of_week, popularity_weeks)
    out = habitual.merge(stretch, on=MEMBER_ID, how="outer").sort_values(MEMBER_ID, kind="mergesort")
    return out.loc[:, list(PICK_COLUMNS)].reset_index(drop=True)
