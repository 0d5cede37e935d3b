"""Customer concentration: how much of the sales comes from the best members ("80% from 20%")."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from engine.backtest.metrics import gini
from engine.data.schema import MEMBER_ID, SALES_VALUE
from engine.reports.config import ReportsConfig
from engine.reports.data import ReportData, window
from engine.reports.groups import GROUPINGS, member_groups, ordered_levels
from engine.reports.model import Report

NAME = "concentration"
#: Points of the Lorenz curve table (cumulative share of members, 0 to 1).
_LORENZ_POINTS = 101
_DECILES = 10


def member_spend(data: ReportData, cutoff: int, weeks: int) -> pd.Series:
    """Sales per member over the ``weeks`` weeks before ``cutoff``; members without purchases count 0."""
    tx = window(data.dataset.transactions, cutoff, weeks)
    spend = tx.groupby(MEMBER_ID, sort=False)[SALES_VALUE].sum()
    members = pd.Index(pd.unique(data.dataset.members[MEMBER_ID]))
    return spend.reindex(members.union(spend.index), fill_value=0.0).astype("float64")


def top_share(spend: np.ndarray, share: float) -> float:
    """Share of the total from the top ``ceil(share x n)`` values (NaN when the total is 0)."""
    values = np.sort(np.asarray(spend, dtype="float64"))[::-1]
    total = values.sum()
    if len(values) == 0 or total <= 0:
        return math.nan
    k = max(1, math.ceil(share * len(values)))
    return float(values[:k].sum() / total)


def lorenz(spend: np.ndarray, points: int = _LORENZ_POINTS) -> pd.DataFrame:
    """The Lorenz curve: share of sales held by the poorest ``member_share`` of members, on a grid."""
    values = np.sort(np.asarray(spend, dtype="float64"))
    n, total = len(values), values.sum()
    cum = np.concatenate([[0.0], np.cumsum(values)]) / (total if total > 0 else 1.0)
    grid = np.linspace(0.0, 1.0, points)
    return pd.DataFrame({"member_share": grid, "sales_share": np.interp(grid * n, np.arange(n + 1), cum)})


def deciles(spend: np.ndarray) -> pd.DataFrame:
    """Members in ten equal groups from the best (decile 1) down, with their share of sales."""
    values = np.sort(np.asarray(spend, dtype="float64"))[::-1]
    total = values.sum() or 1.0
    groups = np.array_split(values, _DECILES)
    sales = np.array([g.sum() for g in groups])
    return pd.DataFrame(
        {
            "decile": np.arange(1, _DECILES + 1),
            "members": [len(g) for g in groups],
            "sales": sales,
            "share_of_sales": sales / total,
            "cumulative_share": np.cumsum(sales) / total,
            "mean_spend": [g.mean() if len(g) else math.nan for g in groups],
        }
    )


def by_group(spend: pd.Series, groups: pd.DataFrame, unknown: str) -> pd.DataFrame:
    """Members and sales per level of every grouping (:data:`GROUPINGS`), with their shares, long form."""
    frame = groups.set_index(MEMBER_ID).reindex(spend.index).fillna(unknown)
    frame = frame.assign(sales=spend.to_numpy())
    total_members, total_sales = len(frame), frame["sales"].sum() or 1.0
    parts = []
    for grouping in GROUPINGS:
        out = frame.groupby(grouping).agg(members=("sales", "size"), sales=("sales", "sum"))
        out = out.reindex(ordered_levels(grouping, out.index, unknown)).rename_axis("group").reset_index()
        out.insert(0, "grouping", grouping)
        parts.append(out)
    table = pd.concat(parts, ignore_index=True)
    table["share_of_members"] = table["members"] / max(total_members, 1)
    table["share_of_sales"] = table["sales"] / total_sales
    table["mean_spend"] = table["sales"] / table["members"]
    return table


def _figure(curve: pd.DataFrame, share: float, top: float, g: float) -> Figure:
    fig = Figure(figsize=(5.5, 5))
    ax = fig.subplots()
    ax.plot(curve["member_share"], curve["sales_share"], label=f"Lorenz curve (Gini {g:.3f})")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="every member spends the same")
    ax.axvline(1 - share, color="tab:red", linewidth=0.8)
    ax.annotate(
        f"top {share:.0%} of members: {top:.1%} of sales",
        xy=(1 - share, 1 - top),
        xytext=(0.05, 0.8),
        arrowprops={"arrowstyle": "->"},
    )
    ax.set(
        xlabel="share of members (least spending first)", ylabel="share of sales", xlim=(0, 1), ylim=(0, 1)
    )
    ax.set_title("Customer concentration")
    ax.legend(loc="upper left", fontsize=8, bbox_to_anchor=(0, 0.72))
    return fig


def build(data: ReportData, cutoff: int, config: ReportsConfig) -> Report:
    """Share of sales from the top members, deciles, the Lorenz curve and the Gini coefficient."""
    params = config.concentration
    spend = member_spend(data, cutoff, params.weeks)
    values = spend.to_numpy()
    top, g = top_share(values, params.top_share), gini(values)
    curve = lorenz(values)
    groups = member_groups(data, cutoff, config.groups)
    return Report(
        name=NAME,
        title="Customer concentration",
        cutoff=cutoff,
        about=(
            f"Each member's sales over the {params.weeks} weeks before week {cutoff} (members of the member "
            "file without purchases count as 0). `top_share_of_sales` is the share of all sales made by "
            f"the top {params.top_share:.0%} of members (the ceiling of {params.top_share} x members); "
            "the Lorenz curve plots the share of sales held by the least-spending x% of members; the Gini "
            "coefficient is 0 when every member spends the same and tends to 1 when one member makes all "
            "sales."
        ),
        numbers={
            "members": len(values),
            "members_with_purchases": int((values > 0).sum()),
            "sales": float(values.sum()),
            "top_share": params.top_share,
            "top_share_of_sales": top,
            "gini": g,
        },
        tables={
            "deciles": deciles(values),
            "by_group": by_group(spend, groups, config.groups.unknown),
            "lorenz": curve,
        },
        figures={"lorenz": _figure(curve, params.top_share, top, g)},
        in_markdown=("deciles", "by_group"),
    )
