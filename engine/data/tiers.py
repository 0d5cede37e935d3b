"""Member tiers (bronze < silver < gold < diamond) from trailing spend before an as-of week.

Only transactions with ``week < as_of_week`` count: the as-of week is the training cutoff, and a tier
computed with later spend would leak the future into features and rules.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from engine.config import CONFIG_DIR, StrictModel, load_config
from engine.data.profiles import with_profiles
from engine.data.schema import MEMBER_ID, SALES_VALUE, SPEND_52W, TIER, TIERS, WEEK, Dataset
from engine.data.validation import examples, fail


class TierThresholds(StrictModel):
    """Minimum trailing spend to reach each tier above bronze; must increase with rank."""

    silver: float = Field(gt=0)
    gold: float = Field(gt=0)
    diamond: float = Field(gt=0)

    @model_validator(mode="after")
    def _increasing(self) -> TierThresholds:
        if not self.silver < self.gold < self.diamond:
            raise ValueError(
                f"thresholds must increase: silver {self.silver} < gold {self.gold} < diamond {self.diamond}"
            )
        return self


class TiersConfig(StrictModel):
    """The model of ``configs/tiers.toml``."""

    window_weeks: int = Field(default=52, ge=1)
    #: How many weeks before the cutoff :func:`tier_drops` looks for a higher tier the member lost.
    drop_lookback_weeks: int = Field(default=13, ge=1)
    thresholds: TierThresholds


def load_tiers_config(path: Path | str = CONFIG_DIR / "tiers.toml") -> TiersConfig:
    """Read and validate a tiers file; unknown keys or non-increasing thresholds raise ``ConfigError``."""
    return load_config(path, TiersConfig)


def tier_of_spend(spend: pd.Series, config: TiersConfig) -> pd.Series:
    """Map spend amounts to tier names (vectorised)."""
    t = config.thresholds
    index = np.searchsorted(
        np.array([t.silver, t.gold, t.diamond]), spend.to_numpy(dtype="float64"), side="right"
    )
    return pd.Series(np.asarray(TIERS, dtype=object)[index], index=spend.index, dtype="str")


def derive_tiers(
    transactions: pd.DataFrame,
    as_of_week: int,
    config: TiersConfig,
    member_ids: pd.Series | None = None,
) -> pd.DataFrame:
    """Tier every member from their spend in ``[as_of_week - window_weeks, as_of_week)``.

    Parameters
    ----------
    transactions
        Canonical transactions (``member_id``, ``week``, ``sales_value``).
    as_of_week
        The cutoff: transactions in this week or later are ignored.
    config
        Window and thresholds.
    member_ids
        Members to tier; defaults to every member appearing in ``transactions`` (at any week), so a
        member with no spend before the cutoff is bronze with 0 spend rather than missing.

    Returns
    -------
    pandas.DataFrame
        ``member_id``, ``tier``, ``spend_52w``, one row per member, sorted by ``member_id``.
    """
    ids = transactions[MEMBER_ID] if member_ids is None else member_ids
    members = pd.Index(pd.unique(ids)).sort_values()
    week = transactions[WEEK]
    window = (week < as_of_week) & (week >= as_of_week - config.window_weeks)
    spend = transactions.loc[window].groupby(MEMBER_ID, sort=False)[SALES_VALUE].sum()
    spend = spend.reindex(members, fill_value=0.0).astype("float64")
    return pd.DataFrame(
        {
            MEMBER_ID: members.to_numpy(),
            TIER: tier_of_spend(spend, config).to_numpy(),
            SPEND_52W: spend.to_numpy(),
        }
    ).astype({TIER: "str"})


def build_members(
    transactions: pd.DataFrame,
    as_of_week: int,
    config: TiersConfig,
    given: pd.DataFrame | None = None,
    where: str = "members",
) -> pd.DataFrame:
    """Members table: derived tiers, except that a tier the member data already carries is kept.

    ``given`` (optional) is a canonical members table; its ``tier`` values must be tier names (checked,
    case-insensitive) and empty tiers are derived. Its members with no transactions are kept (bronze,
    unless given a tier).
    """
    ids = transactions[MEMBER_ID] if given is None else pd.concat([given[MEMBER_ID], transactions[MEMBER_ID]])
    derived = derive_tiers(transactions, as_of_week, config, member_ids=ids)
    if given is None or TIER not in given.columns:
        return derived
    tiers = given[TIER].astype("str").str.strip().str.lower().where(given[TIER].notna())
    bad = tiers.notna() & ~tiers.isin(TIERS)
    if bad.any():
        raise fail(
            where, TIER, int(bad.sum()), f"are not one of {list(TIERS)}", examples(given.loc[bad, TIER])
        )
    kept = pd.Series(tiers.to_numpy(), index=given[MEMBER_ID].to_numpy()).dropna()
    override = derived[MEMBER_ID].map(kept)
    derived[TIER] = override.fillna(derived[TIER]).astype("str")
    return derived


def with_tiers_as_of(dataset: Dataset, as_of_week: int, config: TiersConfig) -> Dataset:
    """The same data with tiers re-derived at ``as_of_week`` (tiers the source supplied are not kept).

    Use it with :meth:`Dataset.before_week` so that a backtest cutoff sees tiers it could have known.
    """
    members = derive_tiers(dataset.transactions, as_of_week, config, member_ids=dataset.members[MEMBER_ID])
    members = with_profiles(members, dataset.members)
    return replace(dataset, members=members)  # keeps every other table (promotions too)


#: Columns of :func:`tier_drops` (optional columns of the artifact's ``members`` table).
PREVIOUS_TIER = "previous_tier"
DROPPED_WEEK = "dropped_week"


def tier_drops(
    transactions: pd.DataFrame,
    as_of_week: int,
    config: TiersConfig,
    lookback_weeks: int | None = None,
    member_ids: pd.Series | None = None,
) -> pd.DataFrame:
    """Members whose trailing spend dropped them a tier within ``lookback_weeks`` before the cutoff.

    ``lookback_weeks`` defaults to the config's ``drop_lookback_weeks``.

    Each week's tier is :func:`derive_tiers` at that week (the one implementation of a tier), so only
    transactions before ``as_of_week`` are read. A member dropped when their tier at ``as_of_week`` is
    below their highest tier at any cutoff ``as_of_week - lookback_weeks .. as_of_week - 1``:
    ``previous_tier`` is that highest tier and ``dropped_week`` the first cutoff after it was last held
    from which the member stayed below it.

    Returns
    -------
    pandas.DataFrame
        ``member_id``, ``previous_tier`` (None when the member did not drop), ``dropped_week``
        (``Int64``, missing when the member did not drop), one row per member, sorted like
        :func:`derive_tiers`.
    """
    lookback = config.drop_lookback_weeks if lookback_weeks is None else lookback_weeks
    if lookback < 1:
        raise ValueError(f"lookback_weeks must be at least 1, got {lookback}")
    rank = {name: k for k, name in enumerate(TIERS)}
    weeks = np.arange(as_of_week - lookback, as_of_week + 1)
    tiered = [derive_tiers(transactions, int(w), config, member_ids=member_ids) for w in weeks]
    ranks = np.stack([t[TIER].map(rank).to_numpy(dtype=np.int64) for t in tiered])  # (weeks, members)
    now, earlier = ranks[-1], ranks[:-1]
    best = earlier.max(axis=0)
    dropped = best > now
    # the last earlier cutoff at which the member still held their best tier: they dropped after it
    last_held = len(earlier) - 1 - np.argmax((earlier >= best)[::-1], axis=0)
    dropped_week = weeks[last_held + 1]
    return pd.DataFrame(
        {
            MEMBER_ID: tiered[-1][MEMBER_ID].to_numpy(),
            PREVIOUS_TIER: np.where(dropped, np.asarray(TIERS, dtype=object)[best], None),
            DROPPED_WEEK: pd.array(
                [
                    int(w) if d else pd.NA
                    for w, d in zip(dropped_week.tolist(), dropped.tolist(), strict=True)
                ],
                dtype="Int64",
            ),
        }
    )
