"""A/A proof: many experiments with no effect on real members and real outcomes, looked at every day.

An A/A experiment splits members at random into two arms that get the same treatment (none: the
data is what they really bought). Any "significant" difference is a false positive, so the share of
A/A runs that ever declare one is the procedure's real error rate. With daily looks over a few weeks
the fixed-horizon test is declared at the first look that crosses (the "peeking" analyst), the
sequential test uses the confidence sequence of :mod:`engine.experiments.sequential`.

Set-up, as a triggered experiment on the app: a member enters on the day of their first purchase in
the window (that is when they would open the app and be assigned); the outcome at each daily look is
their spend from the window's start to the end of that day. Everything that does not depend on the
split is computed once (:func:`outcome_matrix`); each run is then one random 0/1 row, and all runs at
all looks are three matrix products (:func:`simulate_aa`). Three procedures are scored: the
fixed-horizon test peeked at daily, the always-valid confidence sequence, and the group-sequential
boundaries of :mod:`engine.experiments.group_sequential` for the planned number of daily looks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from engine.data.schema import MEMBER_ID, SALES_VALUE, TIMESTAMP, WEEK, Dataset
from engine.errors import ExperimentError
from engine.experiments.group_sequential import look_correlation, spending_boundaries
from engine.experiments.sequential import cs_halfwidth

FloatArray = npt.NDArray[np.float64]
_DAYS_PER_WEEK = 7
#: Runs handled per matrix product: bounds memory at runs x members x 8 bytes.
_CHUNK = 500


@dataclass(frozen=True)
class OutcomeMatrix:
    """Per member: the look at which they enter and their cumulative outcome at every look."""

    member_ids: npt.NDArray[np.int64]
    entry_look: npt.NDArray[np.int64]
    cumulative: FloatArray
    first_week: int
    weeks: int

    @property
    def looks(self) -> int:
        """Number of daily looks."""
        return int(self.cumulative.shape[1])

    def entered(self) -> FloatArray:
        """``members x looks`` 0/1: whether each member is in the experiment at each look."""
        return (self.entry_look[:, None] <= np.arange(self.looks)[None, :]).astype(np.float64)


def outcome_matrix(dataset: Dataset, weeks: int, first_week: int | None = None) -> OutcomeMatrix:
    """Daily cumulative spend of every member who shops in ``weeks`` weeks from ``first_week``.

    ``first_week`` defaults to the last ``weeks`` weeks of the data. Days count from the first
    purchase of ``first_week``; look ``k`` is the end of day ``k``.
    """
    tx = dataset.transactions
    first = dataset.n_weeks - weeks + 1 if first_week is None else first_week
    if first < 1 or weeks < 1:
        raise ExperimentError(f"A/A: cannot take {weeks} week(s) from week {first} of the data")
    start_rows = tx.loc[tx[WEEK] == first, TIMESTAMP]
    if start_rows.empty:
        raise ExperimentError(f"A/A: no purchase in week {first}; choose another window")
    day0 = start_rows.min().floor("D")
    looks = weeks * _DAYS_PER_WEEK
    day = ((tx[TIMESTAMP].dt.floor("D") - day0) / pd.Timedelta(days=1)).astype("int64")
    inside = (day >= 0) & (day < looks)
    window = pd.DataFrame(
        {"m": tx.loc[inside, MEMBER_ID], "d": day[inside], "v": tx.loc[inside, SALES_VALUE]}
    )
    if window.empty:
        raise ExperimentError(f"A/A: no purchases in the {looks} days from week {first}")
    daily = window.groupby(["m", "d"])["v"].sum().unstack("d", fill_value=0.0)
    daily = daily.reindex(columns=range(looks), fill_value=0.0)
    values = daily.to_numpy(dtype=np.float64)
    bought = values > 0
    return OutcomeMatrix(
        member_ids=daily.index.to_numpy(dtype=np.int64),
        entry_look=bought.argmax(axis=1).astype(np.int64),
        cumulative=np.cumsum(values, axis=1),
        first_week=first,
        weeks=weeks,
    )


@dataclass(frozen=True)
class AAResult:
    """False-positive rates of ``runs`` A/A experiments, overall and by look (share rejected so far)."""

    runs: int
    looks: int
    alpha: float
    members: int
    tuning_n: int
    naive_by_look: FloatArray
    sequential_by_look: FloatArray
    group_by_look: FloatArray
    group_bounds: FloatArray
    final_look_only: float

    @property
    def naive(self) -> float:
        """Share of runs a fixed-horizon test declares significant at some daily look."""
        return float(self.naive_by_look[-1])

    @property
    def sequential(self) -> float:
        """Share of runs whose confidence sequence excludes zero at some daily look."""
        return float(self.sequential_by_look[-1])

    @property
    def group(self) -> float:
        """Share of runs crossing the group-sequential boundary (planned daily looks) at some look."""
        return float(self.group_by_look[-1])

    def monte_carlo_se(self, rate: float) -> float:
        """Binomial standard error of a rate estimated from :attr:`runs` runs."""
        return float(np.sqrt(rate * (1 - rate) / self.runs))


def simulate_aa(
    matrix: OutcomeMatrix,
    runs: int,
    alpha: float,
    seed: int,
    treated_share: float = 0.5,
    tuning_n: int | None = None,
) -> AAResult:
    """Split the members of ``matrix`` at random ``runs`` times and test A vs B at every look.

    Parameters
    ----------
    tuning_n
        Where the confidence sequence is tightest; by default the members entered by the last look
        (the planned sample size).
    """
    if runs < 1:
        raise ExperimentError(f"A/A: runs must be at least 1, got {runs}")
    if not 0 < treated_share < 1:
        raise ExperimentError(f"A/A: treated_share must lie in (0, 1), got {treated_share}")
    entered = matrix.entered()
    x = matrix.cumulative * entered
    stacked = np.hstack([entered, x, np.square(x)])  # members x 3 looks
    totals = stacked.sum(axis=0)
    looks = matrix.looks
    tuning = int(entered[:, -1].sum()) if tuning_n is None else tuning_n
    z = float(stats.norm.ppf(1 - alpha / 2))
    rng = np.random.default_rng(seed)
    naive_first = np.full(runs, looks, dtype=np.int64)  # first rejecting look; `looks` = never
    seq_first = np.full(runs, looks, dtype=np.int64)
    group_first = np.full(runs, looks, dtype=np.int64)
    bounds = spending_boundaries(look_correlation(matrix.cumulative, entered), alpha, looks, seed=seed)
    final_rejects = 0
    for start in range(0, runs, _CHUNK):
        size = min(_CHUNK, runs - start)
        assign = (rng.random((size, x.shape[0])) < treated_share).astype(np.float64)
        sums_a = assign @ stacked
        sums_b = totals[None, :] - sums_a
        diff, se, n_total = _welch(sums_a, sums_b, looks)
        naive = np.abs(diff) > z * se
        seq = np.abs(diff) > cs_halfwidth(se, n_total, alpha, tuning)
        group = np.abs(diff) > bounds[None, :] * se
        group_first[start : start + size] = np.where(group.any(axis=1), group.argmax(axis=1), looks)
        final_rejects += int(naive[:, -1].sum())
        naive_first[start : start + size] = np.where(naive.any(axis=1), naive.argmax(axis=1), looks)
        seq_first[start : start + size] = np.where(seq.any(axis=1), seq.argmax(axis=1), looks)
    by_look = np.arange(looks)[None, :]
    return AAResult(
        runs=runs,
        looks=looks,
        alpha=alpha,
        members=int(x.shape[0]),
        tuning_n=tuning,
        naive_by_look=(naive_first[:, None] <= by_look).mean(axis=0),
        sequential_by_look=(seq_first[:, None] <= by_look).mean(axis=0),
        group_by_look=(group_first[:, None] <= by_look).mean(axis=0),
        group_bounds=bounds,
        final_look_only=final_rejects / runs,
    )


def _welch(a: FloatArray, b: FloatArray, looks: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Mean difference, its standard error and the members in both arms, from stacked sums (n, s, s2)."""
    n_a, s_a, q_a = a[:, :looks], a[:, looks : 2 * looks], a[:, 2 * looks :]
    n_b, s_b, q_b = b[:, :looks], b[:, looks : 2 * looks], b[:, 2 * looks :]
    with np.errstate(divide="ignore", invalid="ignore"):
        var_a = (q_a - np.square(s_a) / n_a) / (n_a - 1)
        var_b = (q_b - np.square(s_b) / n_b) / (n_b - 1)
        diff = s_a / n_a - s_b / n_b
        se = np.sqrt(np.maximum(var_a, 0.0) / n_a + np.maximum(var_b, 0.0) / n_b)
    # A look with fewer than two members in an arm has no test: it can never reject.
    usable = (n_a >= 2) & (n_b >= 2) & (se > 0)
    return np.where(usable, diff, 0.0), np.where(usable, se, np.inf), n_a + n_b
