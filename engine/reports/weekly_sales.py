"""Weekly sales charts: the total and each of the largest departments, week by week."""

from __future__ import annotations

import math

import pandas as pd
from matplotlib.figure import Figure

from engine.data.schema import BASKET_ID, DEPARTMENT, ITEM_ID, MEMBER_ID, SALES_VALUE, WEEK
from engine.reports.config import ReportsConfig
from engine.reports.data import ReportData
from engine.reports.model import Report

NAME = "weekly-sales"
OTHER = "OTHER"
_COLUMNS = 3


def weekly_totals(tx: pd.DataFrame) -> pd.DataFrame:
    """Per week: sales, baskets and members who shopped."""
    out = tx.groupby(WEEK).agg(
        sales=(SALES_VALUE, "sum"), baskets=(BASKET_ID, "nunique"), members=(MEMBER_ID, "nunique")
    )
    return out.reset_index().astype({"baskets": "int64", "members": "int64"})


def weekly_by_department(tx: pd.DataFrame, department: pd.Series, top: int) -> pd.DataFrame:
    """Sales per week and department, the ``top`` departments by total sales by name and the rest as
    ``OTHER``; weeks without sales in a department are 0. Long form: ``week, department, sales``."""
    frame = pd.DataFrame(
        {WEEK: tx[WEEK].to_numpy(), DEPARTMENT: department.to_numpy(), "sales": tx[SALES_VALUE]}
    )
    totals = frame.groupby(DEPARTMENT)["sales"].sum().sort_values(ascending=False, kind="mergesort")
    keep = list(totals.index[:top])
    frame[DEPARTMENT] = frame[DEPARTMENT].where(frame[DEPARTMENT].isin(keep), OTHER)
    order = keep + ([OTHER] if len(totals) > top else [])
    wide = frame.pivot_table(index=WEEK, columns=DEPARTMENT, values="sales", aggfunc="sum", fill_value=0.0)
    wide = wide.reindex(columns=order, fill_value=0.0)
    long = wide.reset_index().melt(id_vars=WEEK, var_name=DEPARTMENT, value_name="sales")
    long[DEPARTMENT] = pd.Categorical(long[DEPARTMENT], categories=order, ordered=True)
    long = long.sort_values([DEPARTMENT, WEEK], kind="mergesort").reset_index(drop=True)
    return long.astype({DEPARTMENT: str, "sales": "float64"})


def _figure(totals: pd.DataFrame, by_department: pd.DataFrame) -> Figure:
    departments = list(dict.fromkeys(by_department[DEPARTMENT]))
    panels = ["ALL DEPARTMENTS", *departments]
    rows = math.ceil(len(panels) / _COLUMNS)
    fig = Figure(figsize=(4.2 * _COLUMNS, 2.6 * rows))
    axes = fig.subplots(rows, _COLUMNS, squeeze=False).ravel()
    for ax, panel in zip(axes, panels, strict=False):
        if panel == "ALL DEPARTMENTS":
            ax.plot(totals[WEEK], totals["sales"], color="black")
        else:
            part = by_department[by_department[DEPARTMENT] == panel]
            ax.plot(part[WEEK], part["sales"], color="tab:blue")
        ax.set_title(panel, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.set_ylim(bottom=0)
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    fig.supxlabel("week")
    fig.supylabel("sales")
    fig.tight_layout()
    return fig


def build(data: ReportData, cutoff: int, config: ReportsConfig) -> Report:
    """Weekly sales, in total and for the largest departments, for every week before ``cutoff``."""
    tx = data.dataset.transactions
    tx = tx[tx[WEEK] < cutoff]
    department = tx[ITEM_ID].map(data.dataset.catalog.set_index(ITEM_ID)[DEPARTMENT])
    top = config.weekly_sales.top_departments
    totals = weekly_totals(tx)
    by_department = weekly_by_department(tx, department, top)
    notes: tuple[str, ...] = ()
    if len(totals) and int(totals[WEEK].min()) > 1:
        notes = (f"The data starts in week {int(totals[WEEK].min())}.",)
    return Report(
        name=NAME,
        title="Weekly sales by department",
        cutoff=cutoff,
        about=(
            f"Sales (what members paid) in every week before week {cutoff}: the total, and each of the "
            f"{top} largest departments by sales over those weeks; the other departments are summed as "
            f"`{OTHER}`. `weekly_totals` also counts baskets and members who shopped each week. The first "
            "and last weeks of a data set are often partial weeks."
        ),
        numbers={
            "weeks": len(totals),
            "sales": float(totals["sales"].sum()),
            "mean_weekly_sales": float(totals["sales"].mean()) if len(totals) else float("nan"),
            "best_week": int(totals.loc[totals["sales"].idxmax(), WEEK]) if len(totals) else None,
            "worst_week": int(totals.loc[totals["sales"].idxmin(), WEEK]) if len(totals) else None,
        },
        tables={"weekly_totals": totals, "by_department": by_department},
        figures={"weekly_sales": _figure(totals, by_department)},
        in_markdown=("weekly_totals",),
        notes=notes,
    )
