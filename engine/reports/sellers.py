"""Best and worst sellers: by sales, by margin, and rising or falling (trend) with enough volume."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from engine.data.schema import (
    BASKET_ID,
    CATEGORY,
    DEPARTMENT,
    EXCLUDED,
    ITEM_ID,
    MARGIN_RATE,
    NAME,
    QUANTITY,
    SALES_VALUE,
    WEEK,
)
from engine.reports.config import ReportsConfig, SellersParams
from engine.reports.data import ReportData, window
from engine.reports.model import Report

REPORT = "sellers"
#: Bars per panel of the chart.
_BARS = 10


def symmetric_change(recent: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """``(recent - prior) / mean(recent, prior)``: in [-2, 2], +2 for new items, -2 for vanished ones,
    0 when both are 0."""
    recent, prior = np.asarray(recent, dtype="float64"), np.asarray(prior, dtype="float64")
    mean = (recent + prior) / 2.0
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(mean > 0, (recent - prior) / np.where(mean > 0, mean, 1.0), 0.0)


def _per_item(tx: pd.DataFrame) -> pd.DataFrame:
    grouped = tx.groupby(ITEM_ID, sort=False)
    out = grouped.agg(
        sales=(SALES_VALUE, "sum"), units=(QUANTITY, "sum"), margin=("margin", "sum"), weeks=(WEEK, "nunique")
    )
    out["baskets"] = tx.drop_duplicates([ITEM_ID, BASKET_ID]).groupby(ITEM_ID, sort=False).size()
    return out


def item_table(
    transactions: pd.DataFrame, catalog: pd.DataFrame, cutoff: int, params: SellersParams
) -> pd.DataFrame:
    """One row per item sold in the sales window, with sales, margin, volume and trend.

    Columns: ``item_id, name, category, department, excluded, sales, units, baskets, weeks, margin,
    margin_rate, recent_sales, prior_sales, recent_baskets, prior_baskets, trend, trend_ranked``.
    ``trend`` is the :func:`symmetric_change` of sales between the last ``trend_weeks`` weeks before
    ``cutoff`` and the ``trend_weeks`` before those; ``trend_ranked`` says the item has the volume
    (``min_trend_baskets`` over both) to be ranked by it.
    """
    info = catalog.set_index(ITEM_ID)
    rate = pd.to_numeric(info[MARGIN_RATE], errors="coerce").fillna(0.0)
    tx = transactions.loc[:, [ITEM_ID, BASKET_ID, WEEK, QUANTITY, SALES_VALUE]]
    tx = tx.assign(margin=tx[SALES_VALUE].to_numpy() * tx[ITEM_ID].map(rate).fillna(0.0).to_numpy())
    items = _per_item(window(tx, cutoff, params.weeks))
    for label, end in (("recent", cutoff), ("prior", cutoff - params.trend_weeks)):
        part = _per_item(window(tx, end, params.trend_weeks))
        items[f"{label}_sales"] = part["sales"].reindex(items.index, fill_value=0.0)
        items[f"{label}_baskets"] = part["baskets"].reindex(items.index, fill_value=0).astype("int64")
    items["margin_rate"] = items.index.map(rate).astype("float64")
    items["trend"] = symmetric_change(items["recent_sales"].to_numpy(), items["prior_sales"].to_numpy())
    items["trend_ranked"] = (items["recent_baskets"] + items["prior_baskets"]) >= params.min_trend_baskets
    labels = info.reindex(items.index)
    items.insert(0, NAME, labels[NAME].astype(str).to_numpy())
    items.insert(1, CATEGORY, labels[CATEGORY].astype(str).to_numpy())
    items.insert(2, DEPARTMENT, labels[DEPARTMENT].astype(str).to_numpy())
    items.insert(3, EXCLUDED, labels[EXCLUDED].fillna(False).astype(bool).to_numpy())
    return items.reset_index().astype({"baskets": "int64", "weeks": "int64"})


def rankings(items: pd.DataFrame, params: SellersParams) -> dict[str, pd.DataFrame]:
    """The six lists: best and worst by sales and by margin, rising and falling by trend.

    Worst lists rank only items sold in at least ``min_active_weeks`` weeks (carried all along); trend
    lists only items with ``trend_ranked``. Ties break by volume over both trend windows, then by item
    id, so the lists are deterministic.
    """
    n = params.top_n
    steady = items[items["weeks"] >= params.min_active_weeks]
    ranked = items[items["trend_ranked"]]

    def top(frame: pd.DataFrame, column: str, ascending: bool) -> pd.DataFrame:
        # ties (many trends sit at +-2: new or gone) go to the larger volume, then the smaller item id
        frame = frame.assign(_volume=frame["recent_baskets"] + frame["prior_baskets"])
        order = frame.sort_values(
            [column, "_volume", ITEM_ID], ascending=[ascending, False, True], kind="mergesort"
        )
        return order.drop(columns="_volume").head(n).reset_index(drop=True)

    return {
        "best_by_sales": top(items, "sales", False),
        "worst_by_sales": top(steady, "sales", True),
        "best_by_margin": top(items, "margin", False),
        "worst_by_margin": top(steady, "margin", True),
        "rising": top(ranked[ranked["trend"] > 0], "trend", False),
        "falling": top(ranked[ranked["trend"] < 0], "trend", True),
    }


def _label(frame: pd.DataFrame) -> list[str]:
    return [f"{str(name)[:28]} ({item})" for name, item in zip(frame[NAME], frame[ITEM_ID], strict=True)]


def _figure(lists: dict[str, pd.DataFrame]) -> Figure:
    fig = Figure(figsize=(13, 5.5))
    axes = fig.subplots(1, 3)
    panels = (
        ("best_by_sales", "sales", "Best sellers by sales", "tab:blue"),
        ("best_by_margin", "margin", "Best sellers by margin", "tab:green"),
    )
    for ax, (key, column, title, colour) in zip(axes[:2], panels, strict=True):
        frame = lists[key].head(_BARS).iloc[::-1]
        ax.barh(_label(frame), frame[column], color=colour)
        ax.set_title(title)
        ax.set_xlabel(column)
        ax.tick_params(axis="y", labelsize=7)
    moves = pd.concat([lists["rising"].head(_BARS // 2), lists["falling"].head(_BARS // 2)]).iloc[::-1]
    colours = ["tab:red" if t < 0 else "tab:green" for t in moves["trend"]]
    axes[2].barh(_label(moves), moves["trend"], color=colours)
    axes[2].set_title("Rising and falling (trend)")
    axes[2].set_xlabel("symmetric change of sales")
    axes[2].tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    return fig


def build(data: ReportData, cutoff: int, config: ReportsConfig) -> Report:
    """Best and worst sellers by sales and margin, and the strongest trends, before ``cutoff``."""
    params = config.sellers
    items = item_table(data.dataset.transactions, data.dataset.catalog, cutoff, params)
    lists = rankings(items, params)
    return Report(
        name=REPORT,
        title="Best and worst sellers",
        cutoff=cutoff,
        about=(
            f"Per product over the {params.weeks} weeks before week {cutoff}: `sales` (what members paid), "
            "`margin` (sales x the item's margin rate from configs/margins.toml), `units`, `baskets` "
            "(shopping trips with the item) and `weeks` (distinct weeks it sold in). Worst sellers are "
            f"ranked among items that sold in at least {params.min_active_weeks} weeks, so an item sold "
            f"once by chance does not top the list. `trend` compares sales in the last {params.trend_weeks} "
            f"weeks with the {params.trend_weeks} before: (recent - prior) / mean(recent, prior), from -2 "
            "(gone) to +2 (new); only items in at least "
            f"{params.min_trend_baskets} baskets over those {2 * params.trend_weeks} weeks are ranked by it. "
            "`excluded` items (fuel, tobacco, coupons, ...) never carry an offer but are sales all the same."
        ),
        numbers={
            "items_sold": len(items),
            "sales": float(items["sales"].sum()),
            "margin": float(items["margin"].sum()),
            "items_ranked_for_worst": int((items["weeks"] >= params.min_active_weeks).sum()),
            "items_ranked_by_trend": int(items["trend_ranked"].sum()),
        },
        tables=lists,
        figures={"sellers": _figure(lists)},
    )
