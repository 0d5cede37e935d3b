"""What members get, measured on what they bought: the model's issued challenges and the raw baselines.

Pure functions on (picks, transactions, catalog). A *picks* frame has the columns
:data:`~engine.backtest.raw.PICK_COLUMNS` (``member_id``, ``habitual_1``, ``habitual_2``,
``stretch_category``): the model's issued challenges or the raw baseline challenges
(:mod:`engine.backtest.raw`). Nothing here conditions on the future: every issued challenge counts,
whether or not the member shops in the challenge week (a member who does not shop did not buy).

Per member and cutoff ``c`` (:func:`pick_outcomes`)
    habitual_hit_rate  mean over the two habitual products of "bought it in week c"
    stretch_adoption   bought any product of the stretch *category* in week c (the suggested product is
                       only a hint)
    completion_rate    both habitual products and any product of the stretch category in week c, with no
                       offer shown: natural completion
    category_spend     sales value in the stretch category over weeks c .. c + weeks_after (NaN when that
                       horizon runs past the data's last week: never a truncated horizon)
    repeat_purchase    for adopters only (else NaN): bought in the category again in weeks
                       c + 1 .. c + weeks_after (NaN when the horizon runs past the data)
    shopped            whether the member bought anything in week c (not a metric: lets a reader
                       restrict the comparison to members who shopped, as the same-rules tables do)
Per cutoff (:func:`issuance`; also printed by ``offers challenges``, :func:`issuance_text`)
    per tier           members in the batch and members issued
    active             members with a purchase in weeks c - active_weeks .. c - 1 (:func:`active_members`),
                       and how many of them were issued
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from engine.backtest.raw import PICK_COLUMNS
from engine.data.schema import CATEGORY, ITEM_ID, MEMBER_ID, SALES_VALUE, TIER, WEEK
from engine.errors import DataValidationError

#: Per-member columns of :func:`pick_outcomes`, compared between the model and the raw baseline.
MEMBER_METRICS: tuple[str, ...] = (
    "habitual_hit_rate",
    "stretch_adoption",
    "completion_rate",
    "category_spend",
    "repeat_purchase",
)


def horizon_complete(cutoff: int, weeks_after: int, last_week: int) -> bool:
    """Whether weeks ``cutoff .. cutoff + weeks_after`` all lie inside the data (up to ``last_week``)."""
    return cutoff + weeks_after <= last_week


def _pairs_in(frame: pd.DataFrame, member: pd.Series, key: pd.Series, column: str) -> np.ndarray:
    """For each (member, key) pair, whether ``frame`` has a row with that member and ``column`` value."""
    have = pd.MultiIndex.from_frame(frame[[MEMBER_ID, column]].drop_duplicates())
    asked = pd.MultiIndex.from_arrays([member.to_numpy(dtype=object), key.to_numpy(dtype=object)])
    return np.asarray(asked.isin(have), dtype="float64")


def _present(column: pd.Series) -> np.ndarray:
    return column.notna().to_numpy()


def pick_outcomes(
    picks: pd.DataFrame,
    transactions: pd.DataFrame,
    catalog: pd.DataFrame,
    cutoff: int,
    *,
    weeks_after: int,
    last_week: int,
) -> pd.DataFrame:
    """One row per row of ``picks``: what the member bought of it (see module docstring).

    Parameters
    ----------
    picks
        :data:`~engine.backtest.raw.PICK_COLUMNS`; a missing pick gives NaN in the metrics that need it.
    transactions
        Canonical transactions; only weeks ``cutoff .. cutoff + weeks_after`` are read.
    catalog
        Canonical catalog: each line's category.
    cutoff
        The challenge week.
    weeks_after
        Weeks after the challenge week over which spend and repeat purchases are measured.
    last_week
        The data's last week: a horizon past it is not measured (NaN).

    Returns
    -------
    pandas.DataFrame
        ``member_id``, :data:`MEMBER_METRICS` and ``shopped``.
    """
    missing = [c for c in PICK_COLUMNS if c not in picks.columns]
    if missing:
        raise DataValidationError(f"challenge picks: missing columns {missing}")
    week = transactions[WEEK]
    horizon = transactions[(week >= cutoff) & (week <= cutoff + weeks_after)]
    horizon = horizon.join(catalog.set_index(ITEM_ID)[[CATEGORY]], on=ITEM_ID)
    in_week = horizon[horizon[WEEK] == cutoff]
    later = horizon[horizon[WEEK] > cutoff]

    member = picks[MEMBER_ID]
    h1, h2, cat = picks["habitual_1"], picks["habitual_2"], picks["stretch_category"]
    has_h = _present(h1) & _present(h2)
    has_s = _present(cat)
    hit = (_pairs_in(in_week, member, h1, ITEM_ID) + _pairs_in(in_week, member, h2, ITEM_ID)) / 2.0
    adopted = _pairs_in(in_week, member, cat, CATEGORY)
    both = (hit == 1.0).astype("float64")
    complete = horizon_complete(cutoff, weeks_after, last_week)

    spent = horizon.groupby([MEMBER_ID, CATEGORY], sort=False)[SALES_VALUE].sum()
    keys = pd.MultiIndex.from_arrays([member.to_numpy(dtype=object), cat.to_numpy(dtype=object)])
    spend = spent.reindex(keys).fillna(0.0).to_numpy(dtype="float64")
    again = _pairs_in(later, member, cat, CATEGORY)
    nan = np.full(len(picks), math.nan)
    return pd.DataFrame(
        {
            MEMBER_ID: member.to_numpy(),
            "habitual_hit_rate": np.where(has_h, hit, nan),
            "stretch_adoption": np.where(has_s, adopted, nan),
            "completion_rate": np.where(has_h & has_s, both * adopted, nan),
            "category_spend": np.where(has_s & complete, spend, nan),
            "repeat_purchase": np.where(has_s & complete & (adopted == 1.0), again, nan),
            "shopped": member.isin(pd.Index(pd.unique(in_week[MEMBER_ID]))).to_numpy(),
        }
    )


def issued_picks(challenges: pd.DataFrame) -> pd.DataFrame:
    """The issued rows of a challenges frame (``offers challenges`` shape) as picks, with ``tier`` and
    ``expected_profit`` kept."""
    issued = challenges[challenges["status"] == "issued"]
    extra = [c for c in (TIER, "expected_profit") if c in issued.columns]
    return issued.loc[:, [*PICK_COLUMNS, *extra]].drop_duplicates(MEMBER_ID).reset_index(drop=True)


def active_members(transactions: pd.DataFrame, cutoff: int, active_weeks: int) -> pd.Index:
    """Members with a purchase in weeks ``cutoff - active_weeks .. cutoff - 1``."""
    week = transactions[WEEK]
    recent = transactions[(week >= cutoff - active_weeks) & (week < cutoff)]
    return pd.Index(pd.unique(recent[MEMBER_ID]))


def issuance(challenges: pd.DataFrame, active: pd.Index, tiers: Sequence[str]) -> dict[str, int]:
    """Who was issued: per tier of the batch, and among the ``active`` members.

    Parameters
    ----------
    challenges
        The batch's challenges frame (one row per member, with ``status`` and ``tier``).
    active
        Members active before the challenge week (:func:`active_members`); those the batch does not
        hold count as not issued.
    tiers
        The tiers to count (every tier, in order).

    Returns
    -------
    dict
        ``members_<tier>`` and ``issued_<tier>`` per tier, ``active`` and ``active_issued``.
    """
    if TIER not in challenges.columns:
        raise DataValidationError("challenges frame: missing column 'tier' (needed for tier shares)")
    frame = challenges.drop_duplicates(MEMBER_ID)
    issued = frame["status"] == "issued"
    out: dict[str, int] = {}
    for tier in tiers:
        in_tier = frame[TIER] == tier
        out[f"members_{tier}"] = int(in_tier.sum())
        out[f"issued_{tier}"] = int((in_tier & issued).sum())
    issued_ids = pd.Index(frame.loc[issued, MEMBER_ID].to_numpy(dtype=object))
    out["active"] = len(active)
    out["active_issued"] = int(active.isin(issued_ids).sum())
    return out


def _share(issued: int, members: int) -> str:
    return f"{issued / members:.1%} ({issued}/{members})" if members else "n/a (0 members)"


def issuance_text(
    counts: Mapping[str, int], tiers: Sequence[str], rich_tiers: Sequence[str], active_weeks: int
) -> str:
    """One line for a terminal: issued share per tier, of ``rich_tiers`` together, of active members."""
    per_tier = ", ".join(f"{t} {_share(counts[f'issued_{t}'], counts[f'members_{t}'])}" for t in tiers)
    rich = _share(
        sum(counts[f"issued_{t}"] for t in rich_tiers), sum(counts[f"members_{t}"] for t in rich_tiers)
    )
    active = _share(counts["active_issued"], counts["active"])
    return (
        f"issued by tier: {per_tier}; {' and '.join(rich_tiers)} {rich}; "
        f"members active in the last {active_weeks} weeks {active}"
    )


def measure_cutoff(
    challenges: pd.DataFrame,
    raw: pd.DataFrame,
    transactions: pd.DataFrame,
    catalog: pd.DataFrame,
    cutoff: int,
    *,
    weeks_after: int,
    last_week: int,
) -> pd.DataFrame:
    """The model's issued challenges and the same members' raw baseline challenges, measured.

    Parameters
    ----------
    challenges
        The model's challenges frame for ``cutoff`` (``offers challenges`` shape, with ``tier``).
    raw
        The raw baseline challenges for ``cutoff`` (:func:`engine.backtest.raw.raw_challenges`).
    transactions, catalog, cutoff, weeks_after, last_week
        As for :func:`pick_outcomes`.

    Returns
    -------
    pandas.DataFrame
        ``cutoff``, ``member_id``, ``source`` (``model`` | ``raw``), :data:`MEMBER_METRICS`, and
        ``tier``, ``expected_profit`` (NaN on raw rows). Raw rows exist only for issued members with any
        purchase before the cutoff.
    """
    model = issued_picks(challenges)
    ids = pd.Index(model[MEMBER_ID].to_numpy(dtype=object))
    same = raw[raw[MEMBER_ID].isin(ids)].reset_index(drop=True)

    def measured(picks: pd.DataFrame) -> pd.DataFrame:
        return pick_outcomes(
            picks, transactions, catalog, cutoff, weeks_after=weeks_after, last_week=last_week
        )

    model_rows = measured(model).assign(source="model")
    for column in (TIER, "expected_profit"):
        model_rows[column] = model[column].to_numpy() if column in model.columns else math.nan
    raw_rows = measured(same).assign(source="raw", expected_profit=math.nan)
    raw_rows[TIER] = None
    out = pd.concat([model_rows, raw_rows], ignore_index=True)
    # one id type for both sources, so that pairing by (cutoff, member) cannot miss on int64 vs Int64
    out[MEMBER_ID] = out[MEMBER_ID].astype(object)
    return out.assign(cutoff=cutoff)
