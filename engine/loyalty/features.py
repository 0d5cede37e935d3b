"""What the ladder and the segments read about each member, from the data strictly before a cutoff.

:func:`member_features` returns one row per member (every member of the member file, with or without
purchases) with the fields of the condition language (:mod:`engine.loyalty.config`). Only transactions
and coupon redemptions with ``week < as_of_week`` count, so a training cutoff never sees the weeks it
is evaluated on; demographics are a profile, not an event, and count whenever they are known.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.data.schema import BASKET_ID, DEPARTMENT, ITEM_ID, MEMBER_ID, SALES_VALUE, SPEND_52W, TIER, WEEK
from engine.loyalty.config import DEMO_PREFIX, SHARE_PREFIX

#: Coupon redemptions per member and week (``engine.data.signals``: member_id, week, redemptions).
REDEMPTIONS = "redemptions"


@dataclass(frozen=True)
class LoyaltyInputs:
    """The tables the ladder and segments read; the optional ones are ``None`` when the source lacks them.

    ``members`` is the member file (``member_id``, ``tier``, optionally ``spend_52w``): members with no
    purchase appear here only. ``transactions`` must already be cut before the cutoff or will be here.
    """

    transactions: pd.DataFrame
    catalog: pd.DataFrame
    members: pd.DataFrame
    demographics: pd.DataFrame | None = None
    coupons: pd.DataFrame | None = None


def _window(frame: pd.DataFrame, as_of_week: int, weeks: int) -> pd.DataFrame:
    week = frame[WEEK]
    return frame.loc[(week < as_of_week) & (week >= as_of_week - weeks)]


def member_features(
    inputs: LoyaltyInputs,
    as_of_week: int,
    window_weeks: int,
    loyal_window_weeks: int,
    *,
    departments: Iterable[str] = (),
    demographics: Iterable[str] = (),
) -> pd.DataFrame:
    """Per member: recency, frequency, spend, coupon use, profile, tier, and the asked-for shares and answers.

    Parameters
    ----------
    inputs
        The member file, transactions, catalog and the optional side tables.
    as_of_week
        The cutoff: nothing at or after it counts.
    window_weeks
        Window of ``baskets``, ``active_weeks``, ``spend``, ``coupon_redemptions`` and department shares.
    loyal_window_weeks
        Window of ``loyal_active_weeks`` (what the ``loyal`` stage reads).
    departments, demographics
        The ``share:<DEPARTMENT>`` and ``demo:<attribute>`` columns to add (those the segments use).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``member_id`` (member file first, then members only seen in transactions).
    """
    tx = inputs.transactions.loc[inputs.transactions[WEEK] < as_of_week]
    ids = pd.Index(pd.unique(pd.concat([inputs.members[MEMBER_ID], tx[MEMBER_ID]], ignore_index=True)))
    out = pd.DataFrame(index=ids)
    out.index.name = MEMBER_ID
    by_member = tx.groupby(MEMBER_ID, sort=False)
    out["lifetime_baskets"] = by_member[BASKET_ID].nunique().reindex(ids, fill_value=0).astype(np.int64)
    last = by_member[WEEK].max().reindex(ids)
    out["weeks_since_last"] = (as_of_week - last).astype("float64")  # NaN: never bought
    recent = _window(tx, as_of_week, window_weeks)
    recent_by = recent.groupby(MEMBER_ID, sort=False)
    out["baskets"] = recent_by[BASKET_ID].nunique().reindex(ids, fill_value=0).astype(np.int64)
    out["active_weeks"] = recent_by[WEEK].nunique().reindex(ids, fill_value=0).astype(np.int64)
    spend = recent_by[SALES_VALUE].sum().reindex(ids, fill_value=0.0).astype("float64")
    out["spend"] = spend
    loyal = _window(tx, as_of_week, loyal_window_weeks).groupby(MEMBER_ID, sort=False)[WEEK].nunique()
    out["loyal_active_weeks"] = loyal.reindex(ids, fill_value=0).astype(np.int64)
    members = inputs.members.set_index(MEMBER_ID)
    out[TIER] = members[TIER].reindex(ids).astype(object).where(lambda s: s.notna(), None)
    known_spend = members[SPEND_52W] if SPEND_52W in members else pd.Series(dtype="float64")
    out[SPEND_52W] = known_spend.reindex(ids).astype("float64").fillna(out["spend"])
    coupons = 0
    if inputs.coupons is not None:
        redeemed = _window(inputs.coupons, as_of_week, window_weeks).groupby(MEMBER_ID)[REDEMPTIONS].sum()
        coupons = redeemed.reindex(ids, fill_value=0)
    out["coupon_redemptions"] = pd.Series(coupons, index=ids).astype(np.int64)
    demo = inputs.demographics
    profiled = pd.Index([]) if demo is None else pd.Index(demo[MEMBER_ID])
    out["has_profile"] = ids.isin(profiled)
    for attr in dict.fromkeys(demographics):
        values = (
            demo.set_index(MEMBER_ID)[attr].astype(object)
            if demo is not None and attr in demo
            else pd.Series(dtype=object)
        )
        out[f"{DEMO_PREFIX}{attr}"] = values.reindex(ids).where(lambda s: s.notna(), None)
    wanted = list(dict.fromkeys(departments))
    if wanted:
        dept = recent[ITEM_ID].map(inputs.catalog.set_index(ITEM_ID)[DEPARTMENT])
        per = recent.assign(_d=dept.to_numpy()).groupby([MEMBER_ID, "_d"], sort=False)[SALES_VALUE].sum()
        table = per.unstack("_d").reindex(index=ids, columns=wanted).fillna(0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            shares = table.to_numpy(dtype="float64") / spend.to_numpy()[:, None]
        for k, name in enumerate(wanted):
            out[f"{SHARE_PREFIX}{name}"] = np.nan_to_num(shares[:, k], nan=0.0)
    return out
