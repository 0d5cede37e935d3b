"""From per-cutoff results to the verdict: means over cutoffs, paired comparisons and the issue's bars.

Pure functions on the runner's long frames:

summaries  one row per (cutoff, window, policy) with the :func:`engine.backtest.metrics.summarize` keys
outcomes   one row per (cutoff, window, policy, member in scope) from
           :func:`engine.backtest.metrics.member_outcomes`
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.backtest.config import STRETCH_BASELINES, Bars, StatsParams
from engine.data.schema import MEMBER_ID

#: Metrics compared member by member between the model and each baseline.
PAIRED_METRICS: tuple[str, ...] = (
    "habitual_hit_rate",
    "habitual_both_rate",
    "stretch_adoption",
    "stretch_value",
    "completion_rate",
)


def over_cutoffs(summaries: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Mean and standard deviation of each metric over cutoffs, per (window, policy).

    Returns
    -------
    pandas.DataFrame
        Index ``(window, policy)``, columns ``(metric, "mean" | "sd")``; sd is NaN with one cutoff.
    """
    grouped = summaries.groupby(["window", "policy"], sort=False)[metrics]
    return grouped.agg(["mean", "std"]).rename(columns={"std": "sd"}, level=1)


@dataclass(frozen=True)
class Paired:
    """Model minus a baseline on one metric, over members both policies made an offer to."""

    metric: str
    baseline: str
    window: int
    n_pairs: int
    n_members: int
    model_mean: float
    baseline_mean: float
    diff: float
    ci_low: float
    ci_high: float

    @property
    def excludes_zero(self) -> bool:
        """Whether the confidence interval lies entirely on one side of zero."""
        return self.ci_low > 0 or self.ci_high < 0


def cluster_bootstrap_ci(members: np.ndarray, diffs: np.ndarray, params: StatsParams) -> tuple[float, float]:
    """Percentile CI of the mean difference, resampling members (with all their rows) with replacement.

    A member appears once per cutoff; resampling whole members keeps their weeks together, so the
    interval is not made narrower by pretending one household's weeks are independent.
    """
    if len(diffs) == 0:
        return math.nan, math.nan
    codes, _ = pd.factorize(members)
    sums = np.bincount(codes, weights=diffs)
    counts = np.bincount(codes).astype("float64")
    rng = np.random.default_rng(params.seed)
    draws = rng.integers(0, len(sums), size=(params.bootstrap_resamples, len(sums)))
    means = sums[draws].sum(axis=1) / counts[draws].sum(axis=1)
    alpha = (1.0 - params.confidence) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return float(low), float(high)


def paired(outcomes: pd.DataFrame, metric: str, baseline: str, window: int, params: StatsParams) -> Paired:
    """Compare ``model`` with ``baseline`` on ``metric`` member by member (same cutoff and window)."""
    keys = ["cutoff", MEMBER_ID]
    rows = outcomes[(outcomes["window"] == window) & outcomes["issued"]]
    model = rows[rows["policy"] == "model"].set_index(keys)[metric]
    base = rows[rows["policy"] == baseline].set_index(keys)[metric]
    both = pd.concat([model.rename("m"), base.rename("b")], axis=1, join="inner").dropna()
    diffs = (both["m"] - both["b"]).to_numpy(dtype="float64")
    members = both.index.get_level_values(MEMBER_ID).to_numpy()
    low, high = cluster_bootstrap_ci(members, diffs, params)
    return Paired(
        metric=metric,
        baseline=baseline,
        window=window,
        n_pairs=len(both),
        n_members=int(pd.Index(members).nunique()),
        model_mean=float(both["m"].mean()) if len(both) else math.nan,
        baseline_mean=float(both["b"].mean()) if len(both) else math.nan,
        diff=float(diffs.mean()) if len(diffs) else math.nan,
        ci_low=low,
        ci_high=high,
    )


def paired_table(
    outcomes: pd.DataFrame,
    baselines: Sequence[str],
    windows: Sequence[int],
    params: StatsParams,
    metrics: Sequence[str] = PAIRED_METRICS,
) -> list[Paired]:
    """:func:`paired` for every window, baseline and metric (by default :data:`PAIRED_METRICS`)."""
    return [
        paired(outcomes, metric, baseline, window, params)
        for window in windows
        for baseline in baselines
        for metric in metrics
    ]


@dataclass(frozen=True)
class BarResult:
    """One bar of the issue: what is asked, what was measured, and whether it passes."""

    name: str
    requirement: str
    measured: str
    passed: bool | None  # None: cannot be judged (a policy was not run)


def _mean(agg: pd.DataFrame, window: int, policy: str, metric: str) -> float:
    try:
        return float(agg.loc[(window, policy), (metric, "mean")])
    except KeyError:
        return math.nan


def _ratio_bar(name: str, model: float, base: float, factor: float, what: str) -> BarResult:
    requirement = f"model {what} >= {factor:g} x {name}"
    if math.isnan(model) or math.isnan(base):
        return BarResult(f"{what} vs {name}", requirement, "not run", None)
    ratio = model / base if base else math.inf
    measured = f"model {model:.4f} vs {name} {base:.4f} (ratio {ratio:.3f})"
    return BarResult(f"{what} vs {name}", requirement, measured, bool(model >= factor * base))


def check_bars(agg: pd.DataFrame, pairs: list[Paired], bars: Bars, window: int) -> list[BarResult]:
    """Judge the issue's bars on ``window`` (means over cutoffs, paired CI for stretch adoption)."""
    hit = "habitual_hit_rate"
    out = [
        _ratio_bar(
            "topfreq",
            _mean(agg, window, "model", hit),
            _mean(agg, window, "topfreq", hit),
            bars.habitual_vs_topfreq,
            hit,
        ),
        _ratio_bar(
            "decayed",
            _mean(agg, window, "model", hit),
            _mean(agg, window, "decayed", hit),
            bars.habitual_vs_decayed,
            hit,
        ),
    ]
    adoption = _ratio_bar(
        "popular",
        _mean(agg, window, "model", "stretch_adoption"),
        _mean(agg, window, "popular", "stretch_adoption"),
        bars.stretch_vs_popular,
        "stretch_adoption",
    )
    ci = [
        p for p in pairs if p.metric == "stretch_adoption" and p.baseline == "popular" and p.window == window
    ]
    if ci and adoption.passed is not None:
        p = ci[0]
        ci_ok = p.ci_low > 0
        adoption = BarResult(
            adoption.name,
            adoption.requirement + ", paired CI of the difference above zero",
            adoption.measured + f"; paired diff {p.diff:+.4f} CI [{p.ci_low:+.4f}, {p.ci_high:+.4f}]",
            bool(adoption.passed and ci_ok),
        )
    out.append(adoption)
    model_value = _mean(agg, window, "model", "stretch_value")
    for baseline in STRETCH_BASELINES:
        base_value = _mean(agg, window, baseline, "stretch_value")
        bar = _ratio_bar(baseline, model_value, base_value, 1.0, "stretch_value")
        strict = None if bar.passed is None else bool(model_value > base_value)
        out.append(BarResult(bar.name, f"model stretch_value > {baseline}", bar.measured, strict))
    return out


def ranking_note(agg: pd.DataFrame, window: int, baseline: str = "popular") -> str:
    """One informational sentence comparing the model's stretch ranking alone with ``baseline``'s.

    Uses the mean over cutoffs of ``stretch_top1_adoption`` on ``window``
    (:func:`~engine.backtest.metrics.ranking_outcomes`). It is not one of the issue's bars.
    """
    metric = "stretch_top1_adoption"
    model, base = _mean(agg, window, "model", metric), _mean(agg, window, baseline, metric)
    lead = "Informational, not a bar: stretch top-1 adoption before the rules"
    if math.isnan(model) or math.isnan(base):
        absent = [name for name, v in (("model", model), (baseline, base)) if math.isnan(v)]
        return f"{lead} cannot be compared ({', '.join(absent)} not measured)."
    ratio = f"ratio {model / base:.3f}" if base else f"ratio n/a, {baseline} is 0"
    return (
        f"{lead} (share of members with a stretch candidate who bought in their rank-1 category): "
        f"model {model:.4f} vs {baseline} {base:.4f} ({ratio})."
    )
