"""The member-facing verdict: the model's issued challenges against the raw baselines, and the issue's bars.

Pure functions on the runner's member-facing frames:

member_facing  one row per (cutoff, member, source) with ``source`` ``model`` (the issued challenge) or
               ``raw`` (the raw baseline challenge of the same member, :mod:`engine.backtest.raw`), the
               :data:`~engine.backtest.member_facing.MEMBER_METRICS`, and ``tier``, ``expected_profit``
               for the model's rows
issuance       one row per cutoff from :func:`~engine.backtest.member_facing.issuance`
violations     one row per (cutoff, policy, member, rule) from :mod:`engine.backtest.audit`

Comparisons are paired: per-member differences model - raw over the member-weeks where both have the
pick the metric needs, with the member-clustered bootstrap of :mod:`engine.backtest.analysis`. Ratios
are of the pooled means. Shares of issued members are judged on the worst cutoff, since every week's
``offers challenges`` output must meet them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.backtest.analysis import BarResult, cluster_bootstrap_ci
from engine.backtest.config import BacktestConfig, Bars, StatsParams
from engine.backtest.member_facing import horizon_complete
from engine.data.schema import MEMBER_ID

#: Paired model-vs-raw comparisons, each judged against a bar (see :func:`raw_factors`).
RAW_COMPARISONS: tuple[str, ...] = (
    "habitual_hit_rate",
    "stretch_adoption",
    "completion_rate",
    "category_spend",
)


def raw_factors(bars: Bars) -> dict[str, float]:
    """The bar of each of :data:`RAW_COMPARISONS`: model >= factor x raw."""
    return {
        "habitual_hit_rate": bars.habitual_vs_raw_topfreq,
        "stretch_adoption": bars.stretch_vs_raw_popular,
        "completion_rate": bars.completion_vs_raw,
        "category_spend": bars.spend_vs_raw_popular,
    }


@dataclass(frozen=True)
class RawPaired:
    """Model minus raw baseline on one metric, over the member-weeks both have."""

    metric: str
    n_pairs: int
    n_members: int
    model_mean: float
    raw_mean: float
    diff: float
    ci_low: float
    ci_high: float

    @property
    def ratio(self) -> float:
        """Model mean / raw mean (inf when the raw mean is 0 and the model's is not; NaN when unmeasured)."""
        if math.isnan(self.model_mean) or math.isnan(self.raw_mean):
            return math.nan
        if self.raw_mean == 0:
            return math.inf if self.model_mean > 0 else math.nan
        return self.model_mean / self.raw_mean


@dataclass(frozen=True)
class Estimate:
    """A mean (or total) with its bootstrap interval over members."""

    name: str
    n: int
    value: float
    ci_low: float
    ci_high: float


def _source(frame: pd.DataFrame, source: str, metric: str) -> pd.Series:
    rows = frame[frame["source"] == source]
    return rows.set_index(["cutoff", MEMBER_ID])[metric].rename(source)


def compare_raw(frame: pd.DataFrame, metric: str, params: StatsParams) -> RawPaired:
    """Model vs raw on ``metric``, member by member within each cutoff (see module docstring)."""
    both = pd.concat(
        [_source(frame, "model", metric), _source(frame, "raw", metric)], axis=1, join="inner"
    ).dropna()
    diffs = (both["model"] - both["raw"]).to_numpy(dtype="float64")
    members = both.index.get_level_values(MEMBER_ID).to_numpy()
    low, high = cluster_bootstrap_ci(members, diffs, params)
    empty = len(both) == 0
    return RawPaired(
        metric=metric,
        n_pairs=len(both),
        n_members=int(pd.Index(members).nunique()),
        model_mean=math.nan if empty else float(both["model"].mean()),
        raw_mean=math.nan if empty else float(both["raw"].mean()),
        diff=math.nan if empty else float(diffs.mean()),
        ci_low=low,
        ci_high=high,
    )


def per_cutoff_ratios(frame: pd.DataFrame, metrics: Sequence[str] = RAW_COMPARISONS) -> pd.DataFrame:
    """Model mean / raw mean of each metric per cutoff, over the member-weeks both have.

    Returns
    -------
    pandas.DataFrame
        Index ``cutoff``, one column per metric (NaN where not measured, e.g. a short horizon).
    """
    out: dict[str, pd.Series] = {}
    for metric in metrics:
        both = pd.concat(
            [_source(frame, "model", metric), _source(frame, "raw", metric)], axis=1, join="inner"
        ).dropna()
        means = both.groupby(level="cutoff").mean()
        with np.errstate(divide="ignore", invalid="ignore"):
            out[metric] = (means["model"] / means["raw"]).replace([np.inf, -np.inf], np.nan)
    cutoffs = sorted(pd.unique(frame["cutoff"])) if len(frame) else []
    return pd.DataFrame(out).reindex(cutoffs)


def mean_estimate(frame: pd.DataFrame, source: str, metric: str, params: StatsParams) -> Estimate:
    """Mean of ``metric`` over ``source``'s member-weeks where it is measured, with a member bootstrap."""
    rows = frame[(frame["source"] == source) & frame[metric].notna()]
    values = rows[metric].to_numpy(dtype="float64")
    low, high = cluster_bootstrap_ci(rows[MEMBER_ID].to_numpy(), values, params)
    value = float(values.mean()) if len(values) else math.nan
    return Estimate(f"{source} {metric}", len(values), value, low, high)


def weekly_expected_profit(frame: pd.DataFrame, params: StatsParams) -> Estimate:
    """Expected incremental profit of the issued challenges per week (sum over a week's challenges,
    mean over cutoffs), with a member bootstrap of the mean per challenge scaled by challenges per week."""
    rows = frame[(frame["source"] == "model") & frame["expected_profit"].notna()]
    n_cutoffs = rows["cutoff"].nunique()
    if n_cutoffs == 0:
        return Estimate("expected incremental profit per week", 0, math.nan, math.nan, math.nan)
    values = rows["expected_profit"].to_numpy(dtype="float64")
    per_week = len(values) / n_cutoffs
    low, high = cluster_bootstrap_ci(rows[MEMBER_ID].to_numpy(), values, params)
    return Estimate(
        "expected incremental profit per week",
        len(values),
        float(values.sum()) / n_cutoffs,
        low * per_week,
        high * per_week,
    )


def tier_shares(issuance: pd.DataFrame, tiers: Sequence[str]) -> pd.DataFrame:
    """Issued share per cutoff for each tier, for ``tiers`` together (``rich``) and for active members.

    Returns
    -------
    pandas.DataFrame
        Index ``cutoff``; columns ``<tier>`` per tier in ``issuance``, ``rich`` and ``active``.
    """
    frame = issuance.set_index("cutoff")
    names = [c.removeprefix("members_") for c in frame.columns if c.startswith("members_")]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = pd.DataFrame({t: frame[f"issued_{t}"] / frame[f"members_{t}"] for t in names})
        rich_members = sum(frame[f"members_{t}"] for t in tiers)
        out["rich"] = sum(frame[f"issued_{t}"] for t in tiers) / rich_members
        out["active"] = frame["active_issued"] / frame["active"]
    return out.replace([np.inf, -np.inf], np.nan)


def _ratio_bar(pair: RawPaired, factor: float, what: str) -> BarResult:
    requirement = f"model {pair.metric} >= {factor:g} x raw {what}"
    if math.isnan(pair.ratio):
        return BarResult(f"{pair.metric} vs raw {what}", requirement, "not measured", None)
    measured = (
        f"model {pair.model_mean:.4f} vs raw {pair.raw_mean:.4f} (ratio {pair.ratio:.3f}; "
        f"paired diff {pair.diff:+.4f} CI [{pair.ci_low:+.4f}, {pair.ci_high:+.4f}], {pair.n_pairs} pairs)"
    )
    return BarResult(f"{pair.metric} vs raw {what}", requirement, measured, bool(pair.ratio >= factor))


def _share_bar(name: str, shares: pd.Series, floor: float) -> BarResult:
    requirement = f"{name} >= {floor:.0%} in every cutoff"
    measured_shares = shares.dropna()
    if measured_shares.empty:
        return BarResult(name, requirement, "no such members", None)
    worst = measured_shares.idxmin()
    text = ", ".join(f"w{c} {v:.1%}" for c, v in measured_shares.items())
    measured = f"worst {measured_shares[worst]:.1%} (cutoff {worst}); {text}"
    return BarResult(name, requirement, measured, bool(measured_shares.min() >= floor))


#: What each raw comparison's baseline is called in a bar's name.
RAW_NAMES: dict[str, str] = {
    "habitual_hit_rate": "two most-bought products",
    "stretch_adoption": "most popular never-bought category",
    "completion_rate": "baseline challenge",
    "category_spend": "most popular never-bought category",
}


def member_bars(
    pairs: Sequence[RawPaired],
    shares: pd.DataFrame,
    violations: pd.DataFrame,
    bars: Bars,
    rich_tiers: Sequence[str],
    active_weeks: int,
) -> list[BarResult]:
    """The issue's member-facing bars, PASS/FAIL (None when nothing could be measured)."""
    by_metric = {p.metric: p for p in pairs}
    out = [
        _ratio_bar(by_metric[metric], factor, RAW_NAMES[metric])
        for metric, factor in raw_factors(bars).items()
        if metric in by_metric
    ]
    rich = " and ".join(rich_tiers)
    out.append(_share_bar(f"{rich} members issued", shares["rich"], bars.gold_diamond_issued))
    out.append(
        _share_bar(
            f"members active in the last {active_weeks} weeks issued", shares["active"], bars.active_coverage
        )
    )
    counts = violations["rule"].value_counts() if len(violations) else pd.Series(dtype="int64")
    detail = ", ".join(f"{rule} {n}" for rule, n in counts.items()) or "none"
    out.append(
        BarResult(
            "guard violations",
            f"issued challenges failing a re-check of the hard guard or exclusions "
            f"<= {bars.max_guard_violations}",
            f"{len(violations)} ({detail})",
            bool(len(violations) <= bars.max_guard_violations),
        )
    )
    return out


@dataclass(frozen=True)
class MemberVerdict:
    """Everything the member-facing part of the report says."""

    pairs: list[RawPaired]
    #: The same comparisons over members who bought anything in the challenge week (informational).
    shopped_pairs: list[RawPaired]
    #: Model / raw per cutoff (index ``cutoff``, one column per compared metric).
    by_cutoff: pd.DataFrame
    repeat: tuple[Estimate, Estimate]  # model, raw: share of adopters buying the category again
    profit: Estimate
    shares: pd.DataFrame
    bars: list[BarResult]
    #: Cutoffs left out of the spend and repeat numbers: their horizon runs past the data.
    short_horizon: list[int]
    weeks_after: int
    active_weeks: int
    popularity_weeks: int


def member_verdict(
    member_facing: pd.DataFrame,
    issuance: pd.DataFrame,
    violations: pd.DataFrame,
    config: BacktestConfig,
    *,
    cutoffs: Sequence[int],
    last_week: int,
) -> MemberVerdict:
    """Compare, estimate and judge the member-facing frames of one backtest (see module docstring)."""
    params, stats = config.member_facing, config.stats
    pairs = [compare_raw(member_facing, metric, stats) for metric in RAW_COMPARISONS]
    repeat = (
        mean_estimate(member_facing, "model", "repeat_purchase", stats),
        mean_estimate(member_facing, "raw", "repeat_purchase", stats),
    )
    shares = tier_shares(issuance, params.rich_tiers)
    bars = member_bars(pairs, shares, violations, config.bars, params.rich_tiers, params.active_weeks)
    shopped = member_facing[member_facing["shopped"].astype(bool)] if len(member_facing) else member_facing
    return MemberVerdict(
        pairs=pairs,
        shopped_pairs=[compare_raw(shopped, metric, stats) for metric in RAW_COMPARISONS],
        by_cutoff=per_cutoff_ratios(member_facing),
        repeat=repeat,
        profit=weekly_expected_profit(member_facing, stats),
        shares=shares,
        bars=bars,
        short_horizon=[c for c in cutoffs if not horizon_complete(c, params.weeks_after, last_week)],
        weeks_after=params.weeks_after,
        active_weeks=params.active_weeks,
        popularity_weeks=params.popularity_weeks,
    )
