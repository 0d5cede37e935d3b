"""Fairness: the value members receive (offers, reward value, completion) across member groups, with
gaps beyond a configured ratio flagged.

For each grouping of :func:`~engine.reports.groups.member_groups` (tier, activity, age, income,
household size, kids, and any grouping added there) and each metric, every group's value per member is
compared with the best-served group of the same grouping: ``ratio_to_best = value / best value``. A
group is flagged when ``ratio_to_best < 1 / max_ratio``, it has at least ``min_group_members``
members (smaller groups are shown, never flagged) and the gap is not one the programme makes on purpose
(``by_design``, e.g. gold and diamond members get fewer offers of higher value).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from engine.reports.config import FairnessParams, ReportsConfig
from engine.reports.data import ReportData
from engine.reports.groups import GROUPINGS, ordered_levels
from engine.reports.model import Report
from engine.reports.offers import offer_rows

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


def group_values(rows: pd.DataFrame, grouping: str, unknown: str) -> pd.DataFrame:
    """Per level of ``grouping``: members, issued and the mean of each metric (long form)."""
    out = []
    for level in ordered_levels(grouping, rows[grouping].unique(), unknown):
        part = rows[rows[grouping] == level]
        issued = part[part["issued"]]
        for metric, column in METRICS.items():
            source = issued if metric in _ISSUED_ONLY else part
            values = pd.to_numeric(source[column], errors="coerce").astype("float64")
            out.append(
                {
                    "grouping": grouping,
                    "group": level,
                    "metric": metric,
                    "members": int(part["member_id"].nunique()),
                    "issued": len(issued),
                    "value": float(values.mean()) if values.notna().any() else math.nan,
                }
            )
    return pd.DataFrame(out)


def flag_gaps(values: pd.DataFrame, params: FairnessParams) -> pd.DataFrame:
    """Add ``best_group``, ``ratio_to_best``, ``by_design`` and ``flagged`` (see module docstring).

    The best group is the highest value among groups of the same grouping and metric with at least
    ``min_group_members`` members (for ``completion``: issued members); a metric whose best value is 0 or
    unknown has no ratio and flags nothing.
    """
    out = values.copy()
    size = np.where(out["metric"].isin(_ISSUED_ONLY), out["issued"], out["members"])
    out["eligible"] = (size >= params.min_group_members) & out["value"].notna()
    best_value = out["value"].where(out["eligible"])
    key = [out["grouping"], out["metric"]]
    best = best_value.groupby(key).transform("max")
    best_at = best_value.fillna(-np.inf).groupby(key).transform("idxmax")
    out["best_group"] = np.where(best.notna(), out["group"].reindex(best_at.to_numpy()).to_numpy(), None)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["ratio_to_best"] = np.where(best > 0, out["value"] / best, np.nan)
    names = out["grouping"] + "." + out["metric"]
    out["by_design"] = names.isin(params.by_design)
    out["flagged"] = (
        out["eligible"] & (out["ratio_to_best"] < 1.0 / params.max_ratio) & ~out["by_design"]
    ).fillna(False)
    return out.astype({"flagged": bool, "eligible": bool, "by_design": bool})


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
            bars = ax.bar(
                x + (i - len(metrics) / 2 + 0.5) * width, m["ratio_to_best"].fillna(0), width, label=metric
            )
            for bar, flagged in zip(bars, m["flagged"].fillna(False), strict=True):
                if flagged:
                    bar.set_edgecolor("red")
                    bar.set_linewidth(1.5)
        ax.axhline(1 / params.max_ratio, color="red", linestyle="--", linewidth=0.8)
        ax.set_xticks(x, levels, rotation=45, ha="right", fontsize=7)
        ax.set_title(grouping, fontsize=9)
        ax.set_ylim(0, 1.1)
    for ax in axes[len(groupings) :]:
        ax.set_visible(False)
    axes[0].legend(fontsize=6, loc="lower left")
    fig.supylabel("value per member / best group's (red edge: flagged)")
    fig.tight_layout()
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
            "Each group is compared with the best-served group of its grouping: `ratio_to_best`; a group "
            f"is flagged when below 1/{params.max_ratio:g} = {1 / params.max_ratio:.2f} of the best, with "
            f"at least {params.min_group_members} members (issued members for completion), unless the gap "
            f"is by design ({', '.join(params.by_design) or 'none'}). Members without demographics are "
            f"their own `{config.groups.unknown}` group."
        ),
        numbers={
            "members": int(rows["member_id"].nunique()),
            "groupings": len(GROUPINGS),
            "max_ratio": params.max_ratio,
            "flagged_gaps": len(flags),
            "flagged": "; ".join(f"{r.grouping}={r.group} {r.metric}" for r in flags.itertuples()) or "none",
        },
        tables={"flags": flags, "by_group": table},
        figures={"fairness": _figure(table, params)},
        notes=notes,
    )
