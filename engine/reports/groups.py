"""The member groupings every report breaks its numbers down by, computed in one place.

:func:`member_groups` is the only function that says which groups a member belongs to. Every report
that shows numbers per group (offer economics, fairness, and any later one) reads its columns and
iterates over :data:`GROUPINGS`, so a new grouping is added here once, as one more column and one
more name in :data:`GROUPINGS`, and every report shows it. The loyalty ladder stage and the analyst's
segments (:mod:`engine.loyalty`) join this way: computed from the same data before the same cutoff
(``configs/loyalty.toml``, ``configs/segments.toml``), one column each.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from engine.backtest.member_facing import active_members
from engine.data.schema import MEMBER_ID, TIER, TIERS
from engine.data.signals import DEMOGRAPHIC_COLUMNS
from engine.data.tiers import derive_tiers
from engine.loyalty import STAGES, LoyaltyInputs, load_ladder, load_segments, loyalty_table, split_segments
from engine.reports.config import GroupParams
from engine.reports.data import ReportData

ACTIVITY = "activity"
ACTIVE, LAPSED, NO_PURCHASES = "active", "lapsed", "no_purchases"
STAGE, SEGMENT = "stage", "segment"

#: The grouping columns of :func:`member_groups`, in the order reports show them.
GROUPINGS: tuple[str, ...] = (TIER, STAGE, SEGMENT, ACTIVITY, *DEMOGRAPHIC_COLUMNS)

_FIXED_ORDER: dict[str, tuple[str, ...]] = {
    TIER: TIERS,
    STAGE: STAGES,
    ACTIVITY: (ACTIVE, LAPSED, NO_PURCHASES),
}


def member_groups(data: ReportData, cutoff: int, params: GroupParams) -> pd.DataFrame:
    """Every member's group in each grouping, as known at the start of week ``cutoff``.

    Parameters
    ----------
    data
        The report inputs; members are those of the member table (with or without purchases).
    cutoff
        Only transactions of weeks before ``cutoff`` count.
    params
        ``active_weeks`` (what "active" means) and the ``unknown`` level.

    Returns
    -------
    pandas.DataFrame
        One row per member, sorted by ``member_id``, with the columns ``member_id`` and
        :data:`GROUPINGS` (all strings):

        tier            bronze .. diamond from trailing spend before ``cutoff`` (``configs/tiers.toml``)
        stage           the loyalty ladder stage (suspect .. advocate, :mod:`engine.loyalty`)
        segment         the member's most specific segment: of the segments the member is in, the one
                        with the fewest members (ties: file order), so the levels partition the members;
                        ``unknown`` when the member is in none (``offers rules preview`` counts a member
                        in each of their segments instead)
        activity        ``active`` (a purchase in the ``active_weeks`` weeks before ``cutoff``),
                        ``lapsed`` (earlier purchases only) or ``no_purchases``
        age, income, household_size, kids_count
                        the member's demographics answer; members without one (two thirds of
                        Complete Journey, everyone in a source without demographics) are their own
                        ``unknown`` group, never imputed
    """
    tx = data.dataset.transactions
    before = tx[tx["week"] < cutoff]
    members = derive_tiers(before, cutoff, data.tiers, member_ids=data.dataset.members[MEMBER_ID])
    out = members.loc[:, [MEMBER_ID, TIER]].reset_index(drop=True)
    ids = out[MEMBER_ID]
    active = ids.isin(active_members(before, cutoff, params.active_weeks))
    bought = ids.isin(pd.unique(before[MEMBER_ID]))
    out[ACTIVITY] = np.where(active, ACTIVE, np.where(bought, LAPSED, NO_PURCHASES))
    loyalty = _loyalty(data, before, members, cutoff).set_index(MEMBER_ID)
    out[STAGE] = ids.map(loyalty["stage"]).fillna(params.unknown).astype(str)
    out[SEGMENT] = ids.map(_most_specific(loyalty["segments"])).fillna(params.unknown).astype(str)
    answers = data.demographics
    for column in DEMOGRAPHIC_COLUMNS:
        if answers is None or column not in answers.columns:
            out[column] = params.unknown
            continue
        level = answers.drop_duplicates(MEMBER_ID).set_index(MEMBER_ID)[column].astype("string").str.strip()
        level = level[level.notna() & (level != "") & (level.str.lower() != "nan")]
        out[column] = ids.map(level).fillna(params.unknown).astype(str)
    return out.loc[:, [MEMBER_ID, *GROUPINGS]].astype(dict.fromkeys(GROUPINGS, str))


def _loyalty(data: ReportData, before: pd.DataFrame, members: pd.DataFrame, cutoff: int) -> pd.DataFrame:
    """Stage and segments at ``cutoff`` from the shipped ladder and segments files (one implementation:
    :func:`engine.loyalty.loyalty_table`, the one training writes into the artifact)."""
    inputs = LoyaltyInputs(
        transactions=before,
        catalog=data.dataset.catalog,
        members=members,
        demographics=data.demographics,
        coupons=data.coupons,
    )
    return loyalty_table(inputs, cutoff, load_ladder(), load_segments())


def _most_specific(segments: pd.Series) -> pd.Series:
    """Per member, the smallest of their segments (ties: the earlier in file order); NaN for none."""
    lists = segments.map(lambda s: split_segments(None if pd.isna(s) else str(s)))
    sizes = lists.explode().value_counts()
    return lists.map(lambda names: min(names, key=lambda n: (sizes[n], names.index(n))) if names else None)


def ordered_levels(grouping: str, levels: Iterable[str], unknown: str) -> list[str]:
    """A grouping's levels in reading order: tiers by rank, ``Under 15K`` .. ``250K+`` by their first
    number, anything else by name; ``unknown`` last."""
    fixed = _FIXED_ORDER.get(grouping, ())

    def key(level: str) -> tuple[int, float, str]:
        if level == unknown:
            return (2, 0.0, level)
        if level in fixed:
            return (0, float(fixed.index(level)), level)
        number = re.search(r"\d+(\.\d+)?", level)
        value = float(number.group()) if number else float("inf")
        return (1, value - 0.5 if level.lower().startswith("under") else value, level)

    return sorted(set(levels), key=key)
