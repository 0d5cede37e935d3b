"""Fairness: the value members receive (offers, reward value, completion) across member groups, with
gaps beyond a configured ratio flagged.

For each grouping of :func:`~engine.reports.groups.member_groups` (tier, activity, age, income,
household size, kids, and any grouping added there) and each metric, every group's value per member is
compared with the value over all members: ``ratio = value / overall``. A group is flagged when it
receives less than the overall value divided by ``max_ratio`` *and* that is not chance: even the top of
its confidence interval (``value + z x se``, ``confidence`` two-sided, ``se`` the standard error of a
group of its size drawn from all members) stays below ``overall / max_ratio``. Rare outcomes (a
completion rate under 1%) otherwise put most small groups at ratio 0 or far above 1 from one completion
more or less. Groups with fewer than ``min_group_members``
members (for completion: issued members) are shown, never flagged, and gaps the programme makes on
purpose (``by_design``, e.g. gold and diamond members get fewer offers of higher value) are shown as such.
The overall value, not the best group's, is the reference: the best of many small groups is high by
luck.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy.stats import norm

from engine.reports.config import FairnessParams, ReportsConfig
from engine.reports.data import ReportData
from engine.reports.groups import GROUPINGS, ordered_levels
from engine.reports.model import Report
from engine.reports.offers import offer_rows, provenance

NAME = "fairness"

#: Value received per member, and how it is averaged: over every member-week, or over issued ones.
METRICS: Mapping[str, str] = {
    "offers": "issued",  # challenges issued per member and week
    "reward_value": "reward_value",  # face value of the rewards offered, per member and week
    "expected_reward_value": "expected_reward_value",  # reward value x P(complete), per member and week
    "completion": "completed",  # share of issued challenges completed (issued members only)
    "realised_reward_value": "realised_reward_value",  # reward earned by completing, per member and week
}
_ISSUED_ONLY = frozenset({"completion"})
#: Top of the chart's ratio axis.
_Y_MAX = 2.0


def _mean_and_sd(values: pd.Series) -> tuple[float, float, int]:
    values = values.dropna()
    n = len(values)
    if n == 0:
        return math.nan, math.nan, 0
    return float(values.mean()), float(values.std(ddof=1)) if n > 1 else math.nan, n


def _metric_values(part: pd.DataFrame, metric: str) -> pd.Series:
    source = part[part["issued"]] if metric in _ISSUED_ONLY else part
    return pd.to_numeric(source[METRICS[metric]], errors="coerce").astype("float64")


def group_values(rows: pd.DataFrame, grouping: str, unknown: str) -> pd.DataFrame:
    """Per level of ``grouping`` and metric: members, issued, the mean (``value``), how many values it
    is over (``n``), the same metric over all rows (``overall``) and the standard error the group's mean
    would have if its members were like everyone (``se`` = the standard deviation over all rows /
    sqrt(n)): a group's own spread says nothing when it saw none of a rare outcome."""
    out = []
    overall = {metric: _mean_and_sd(_metric_values(rows, metric)) for metric in METRICS}
    for level in ordered_levels(grouping, rows[grouping].unique(), unknown):
        part = rows[rows[grouping] == level]
        for metric in METRICS:
            value, _, n = _mean_and_sd(_metric_values(part, metric))
            mean, sd, _ = overall[metric]
            out.append(
                {
                    "grouping": grouping,
                    "group": level,
                    "metric": metric,
                    "members": int(part["member_id"].nunique()),
                    "issued": int(part["issued"].sum()),
                    "n": n,
                    "value": value,
                    "se": sd / math.sqrt(n) if n else math.nan,
                    "overall": mean,
                }
            )
    return pd.DataFrame(out)


def flag_gaps(values: pd.DataFrame, params: FairnessParams) -> pd.DataFrame:
    """Add ``ratio``, ``eligible``, ``by_design`` and ``flagged`` (see module docstring).

    ``values`` has ``grouping, group, metric, n, value, se, overall`` (:func:`group_values`). A metric
    whose overall value is 0 or unknown has no ratio and flags nothing.
    """
    out = values.copy()
    z = float(norm.ppf(1 - (1 - params.confidence) / 2))
    overall = out["overall"].to_numpy(dtype="float64")
    value = out["value"].to_numpy(dtype="float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        out["ratio"] = np.where(overall > 0, value / overall, np.nan)
    out["eligible"] = (out["n"] >= params.min_group_members) & out["value"].notna()
    out["by_design"] = (out["grouping"] + "." + out["metric"]).isin(params.by_design)
    bar = overall / params.max_ratio
    beyond = (value < bar) & (value + z * out["se"].to_numpy(dtype="float64") < bar)
    out["flagged"] = out["eligible"] & beyond & (overall > 0) & ~out["by_design"]
    return out.astype({"flagged": bool, "eligible": bool, "by_design": bool})


def summary_table(table: pd.DataFrame) -> pd.DataFrame:
    """One row per group: members, issued, each metric's value and the metrics flagged."""
    keys = ["grouping", "group"]
    wide = table.pivot_table(index=keys, columns="metric", values="value", sort=False, dropna=False)
    wide = wide.reindex(columns=list(METRICS))
    wide.columns.name = None
    counts = table.drop_duplicates(keys).set_index(keys)[["members", "issued"]]
    flagged = table[table["flagged"]].groupby(keys, sort=False)["metric"].agg(", ".join)
    out = counts.join(wide)
    out["flagged"] = flagged.reindex(out.index).fillna("")
    return out.reset_index()


def _figure(table: pd.DataFrame, params: FairnessParams) -> Figure:
    groupings = list(dict.fromkeys(table["grouping"]))
    cols = 3
    rows = math.ceil(len(groupings) / cols)
    fig = Figure(figsize=(5.2 * cols, 3.4 * rows))
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    metrics = list(METRICS)
    width = 0.8 / len(metrics)
    for ax, grouping in zip(axes, groupings, strict=False):
        part = table[table["grouping"] == grouping]
        levels = list(dict.fromkeys(part["group"]))
        x = np.arange(len(levels))
        for i, metric in enumerate(metrics):
            m = part[part["metric"] == metric].set_index("group").reindex(levels)
            bars = ax.bar(x + (i - len(metrics) / 2 + 0.5) * width, m["ratio"].fillna(0), width, label=metric)
            for bar, flagged in zip(bars, m["flagged"].fillna(False), strict=True):
                if flagged:
                    bar.set_edgecolor("red")
                    bar.set_linewidth(1.5)
        ax.axhline(1 / params.max_ratio, color="red", linestyle="--", linewidth=0.8)
        ax.set_xticks(x, levels, rotation=45, ha="right", fontsize=7)
        ax.set_title(grouping, fontsize=9)
        ax.axhline(1.0, color="grey", linewidth=0.6)
        ax.set_ylim(0, _Y_MAX)  # rare outcomes reach ratios of 10+ in small groups; the gaps are below 1
    for ax in axes[len(groupings) :]:
        ax.set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(metrics), fontsize=8)
    fig.supylabel(f"value per member / all members' (red edge: flagged; cut at {_Y_MAX:g})")
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return fig


def build(data: ReportData, cutoff: int, config: ReportsConfig) -> Report:
    """Value received per member across every grouping, with gaps beyond ``max_ratio`` flagged."""
    params = config.fairness
    rows, first_week, notes = offer_rows(data, config)
    values = pd.concat([group_values(rows, g, config.groups.unknown) for g in GROUPINGS], ignore_index=True)
    table = flag_gaps(values, params)
    flags = table[table["flagged"]].reset_index(drop=True)
    return Report(
        name=NAME,
        title="Fairness: value received per member across groups",
        cutoff=first_week,
        about=(
            "From a saved `offers challenges` file, one row per member and week. Value received per "
            "member: `offers` (share of member-weeks with a challenge), `reward_value` (the reward's face "
            "value, 0 without a challenge), `expected_reward_value` (reward value x P(complete | offer)), "
            "`completion` (of issued challenges, the share completed in the window with no offer shown: "
            "the backtest's measure) and `realised_reward_value` (reward earned by those completions). "
            "Each group is compared with all members: `ratio` = group value / overall value. A group is "
            f"flagged when it gets less than 1/{params.max_ratio:g} = {1 / params.max_ratio:.2f} of the "
            f"overall value and even the top of its {params.confidence:.0%} confidence interval does, with "
            f"at least {params.min_group_members} members (issued members for completion), unless the gap "
            f"is by design ({', '.join(params.by_design) or 'none'}). Members without demographics are "
            f"their own `{config.groups.unknown}` group."
        ),
        numbers={
            "members": int(rows["member_id"].nunique()),
            "groupings": len(GROUPINGS),
            "max_ratio": params.max_ratio,
            "flagged_gaps": len(flags),
            **provenance(data.challenges if data.challenges is not None else rows),
            "flagged": "; ".join(f"{r.grouping}={r.group} {r.metric}" for r in flags.itertuples()) or "none",
        },
        tables={"flags": flags, "summary": summary_table(table), "by_group": table},
        in_markdown=("flags", "summary"),
        figures={"fairness": _figure(table, params)},
        notes=notes,
    )
