"""One row per member and challenge week: the saved challenge, the member's groups and what happened.

The offer reports (economics, fairness) read a saved ``offers challenges`` file rather than running the
batch themselves: assembling a week's challenges needs a trained candidate artifact, and training takes
minutes on the full data, past the one-minute budget of a report. The file is the batch's own output
(:func:`engine.challenge.challenges_frame`); completion is the backtest's measure
(:func:`engine.backtest.metrics.member_outcomes`: bought both habitual products and in the stretch
category in the window), over the challenge week and the ``completion_window_weeks - 1`` after it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.backtest.metrics import member_outcomes
from engine.data.schema import MEMBER_ID, WEEK
from engine.errors import DataValidationError
from engine.reports.config import ReportsConfig
from engine.reports.data import ReportData
from engine.reports.groups import GROUPINGS, member_groups

ISSUED = "issued"

#: Columns of :func:`offer_rows` besides ``member_id``, ``week`` and :data:`GROUPINGS`.
OFFER_COLUMNS: tuple[str, ...] = (
    "status",
    "reason_code",
    "issued",
    "reward_value",
    "reward_stars",
    "expected_reward_value",
    "expected_profit",
    "p_complete",
    "completed",
    "realised_reward_value",
)


def _as_member_ids(values: pd.Series, like: pd.Series) -> pd.Series:
    """Challenge-file member ids in the data's id type (the file stores integer ids as nullable ints)."""
    if pd.api.types.is_integer_dtype(like.dtype) and pd.api.types.is_integer_dtype(values.dtype):
        return values.astype("int64")
    return values.astype(like.dtype) if like.dtype == object else values


def provenance(challenges: pd.DataFrame) -> dict[str, str]:
    """Which model and rules versions made the challenges (``-`` when the file does not say)."""
    out = {}
    for column in ("model_version", "rules_version"):
        values = challenges[column].dropna().astype(str).unique() if column in challenges.columns else []
        out[column] = ", ".join(sorted(values)) or "-"
    return out


def offer_rows(data: ReportData, config: ReportsConfig) -> tuple[pd.DataFrame, int, tuple[str, ...]]:
    """The saved challenges with each member's groups at the challenge week and their outcome.

    Returns
    -------
    (rows, cutoff, notes)
        ``rows``: ``member_id, week``, :data:`GROUPINGS`, :data:`OFFER_COLUMNS`; money columns are 0
        and ``completed`` NaN for members not issued a challenge; ``completed`` is NaN too when the
        completion window runs past the data. ``cutoff``: the first challenge week. ``notes``: what
        the reader must know (windows past the data, members unknown to the data).

    Raises
    ------
    DataValidationError
        No challenges file was given, or it holds no rows.
    """
    if data.challenges is None:
        raise DataValidationError(
            "this report reads a saved challenges file: write one with "
            "`offers challenges --as-of WEEK --out FILE.parquet`, then pass `--challenges FILE.parquet`"
        )
    challenges = data.challenges
    if challenges.empty:
        raise DataValidationError("the challenges file holds no rows")
    challenges = challenges.assign(
        **{MEMBER_ID: _as_member_ids(challenges[MEMBER_ID], data.dataset.members[MEMBER_ID])}
    )
    tx, catalog = data.dataset.transactions, data.dataset.catalog
    last_week = data.dataset.n_weeks
    span = config.offers.completion_window_weeks
    notes: list[str] = []
    parts = []
    for week, batch in challenges.groupby(WEEK, sort=True):
        week = int(week)
        groups = member_groups(data, week, config.groups)
        batch = batch.drop_duplicates(MEMBER_ID)
        scope = pd.Index(batch[MEMBER_ID].to_numpy())
        window = tx[(tx[WEEK] >= week) & (tx[WEEK] < week + span)]
        outcome = member_outcomes(batch, window, catalog, scope).set_index(MEMBER_ID)
        if week + span - 1 > last_week:
            notes.append(
                f"week {week}: the completion window (weeks {week}-{week + span - 1}) runs past the data's "
                f"last week {last_week}: completion is not measured."
            )
            outcome["completion_rate"] = np.nan
            outcome["realised_reward_cost"] = np.nan
        issued = (batch["status"] == ISSUED).to_numpy()
        ids = batch[MEMBER_ID]
        unknown = ~ids.isin(groups[MEMBER_ID])
        if unknown.any():
            notes.append(
                f"week {week}: {int(unknown.sum())} member(s) of the challenges file are not in the data."
            )
        mine = groups.set_index(MEMBER_ID).reindex(ids)
        row = pd.DataFrame({MEMBER_ID: ids.to_numpy(), WEEK: week})
        for grouping in GROUPINGS:
            row[grouping] = mine[grouping].fillna(config.groups.unknown).to_numpy()
        money = np.where(issued, 1.0, 0.0)
        row["status"] = batch["status"].astype(str).to_numpy()
        row["reason_code"] = batch["reason_code"].astype(str).to_numpy()
        row["issued"] = issued
        row["reward_value"] = money * pd.to_numeric(batch["reward_cost"]).fillna(0.0).to_numpy()
        stars = batch["reward_stars"] if "reward_stars" in batch.columns else pd.Series(0, index=batch.index)
        row["reward_stars"] = money * pd.to_numeric(stars).fillna(0).to_numpy()
        row["expected_reward_value"] = money * pd.to_numeric(batch["expected_cost"]).fillna(0.0).to_numpy()
        row["expected_profit"] = money * pd.to_numeric(batch["expected_profit"]).fillna(0.0).to_numpy()
        row["p_complete"] = np.where(issued, pd.to_numeric(batch["p_complete"]).to_numpy(), np.nan)
        row["completed"] = np.where(issued, outcome["completion_rate"].reindex(ids).to_numpy(), np.nan)
        realised = outcome["realised_reward_cost"].reindex(ids).to_numpy()
        row["realised_reward_value"] = np.where(
            issued, realised, 0.0 if span + week - 1 <= last_week else np.nan
        )
        parts.append(row)
    return pd.concat(parts, ignore_index=True), int(challenges[WEEK].min()), tuple(notes)
