"""Fetched vs shown: who the analysis counts as exposed when the app reports displays.

With ``exposure = "displayed"`` a member counts as exposed once a display of their challenge (or of
the holdout's no-offer screen) was reported in the experiment's weeks; members whose challenge was
fetched but never shown are left out of the comparison and reported as a share per arm. If that
share differs between arms (chi-square test), showing depended on the arm and the shown members are
no longer comparable: the report says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from engine.errors import ExperimentError
from engine.experiments.definition import ExperimentDefinition

#: The member frame's column of member-weeks displayed.
DISPLAYED = "displayed"


@dataclass(frozen=True)
class ArmExposure:
    """Members of one arm whose challenge was fetched, and how many of them were shown it."""

    arm: str
    fetched: int
    shown: int

    @property
    def never_shown_share(self) -> float:
        """Share of fetched members never shown their challenge."""
        return 1 - self.shown / self.fetched if self.fetched else float("nan")


@dataclass(frozen=True)
class ExposureSummary:
    """Fetched and shown per arm, displays without a fetch, and whether showing depended on the arm."""

    arms: tuple[ArmExposure, ...]
    displayed_not_fetched: int
    p_value: float
    alpha: float

    @property
    def differs_by_arm(self) -> bool:
        """Whether the never-shown share differs between arms (chi-square p below ``alpha``)."""
        return self.p_value < self.alpha


def with_displays(
    frame: pd.DataFrame, displays: pd.DataFrame, definition: ExperimentDefinition
) -> pd.DataFrame:
    """``frame`` plus :data:`DISPLAYED`: each member's displayed weeks of ``definition`` (salt and weeks)."""
    d = definition
    mine = displays[
        (displays["experiment"] == d.name)
        & (displays["salt"] == d.salt)
        & (displays["week"] >= d.start_week)
        & (displays["week"] <= d.end_week)
    ]
    weeks = mine.groupby(mine["member_id"].astype(str))["week"].nunique()
    out = frame.copy()
    out[DISPLAYED] = out["member_id"].astype(str).map(weeks).fillna(0).astype("float64")
    out.attrs["displayed_not_fetched"] = int((~weeks.index.isin(set(out["member_id"].astype(str)))).sum())
    return out


def shown_only(
    frame: pd.DataFrame, definition: ExperimentDefinition, alpha: float
) -> tuple[pd.DataFrame, ExposureSummary]:
    """The members shown their challenge, and the fetched/shown summary.

    Raises
    ------
    ExperimentError
        The frame has no :data:`DISPLAYED` column (no display log was read) or nobody was shown.
    """
    if DISPLAYED not in frame.columns:
        raise ExperimentError(
            f"experiment {definition.name!r} counts exposure when shown, but no display reports were read "
            "(POST /v1/members/{member_id}/challenge/displayed records them)"
        )
    shown = frame[DISPLAYED] > 0
    if not shown.any():
        raise ExperimentError(f"experiment {definition.name!r}: no member was shown a challenge yet")
    arms = []
    for arm in definition.arm_names:
        rows = frame["arm"] == arm
        arms.append(ArmExposure(arm, int(rows.sum()), int((rows & shown).sum())))
    table = np.array([[a.shown, a.fetched - a.shown] for a in arms if a.fetched], dtype=np.float64)
    p = 1.0
    if len(table) > 1 and table[:, 1].sum() > 0:
        p = float(stats.chi2_contingency(table, correction=False)[1])
    summary = ExposureSummary(tuple(arms), int(frame.attrs.get("displayed_not_fetched", 0)), p, alpha)
    return frame[shown].reset_index(drop=True), summary
