"""The basket report: how big baskets are, which departments they hold, and what goes with what."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from matplotlib.figure import Figure

from engine.data.schema import BASKET_ID, CATEGORY, DEPARTMENT, ITEM_ID, SALES_VALUE
from engine.reports.config import BasketParams, ReportsConfig
from engine.reports.data import ReportData, window
from engine.reports.model import Report

NAME = "basket"
#: Departments drawn in the chart's mix panel.
_MIX_BARS = 12
#: Pairs drawn in the chart's pair panel.
_PAIR_BARS = 10


def basket_sizes(tx: pd.DataFrame, max_bin: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per basket its distinct items and value; and the distribution of sizes, ``max_bin`` and over as
    one bin (``size`` is its lower bound, ``label`` reads ``"40+"``)."""
    per = tx.groupby(BASKET_ID, sort=False).agg(items=(ITEM_ID, "nunique"), value=(SALES_VALUE, "sum"))
    size = np.minimum(per["items"].to_numpy(), max_bin)
    counts = np.bincount(size, minlength=max_bin + 1)[1:]
    sizes = np.arange(1, max_bin + 1)
    dist = pd.DataFrame(
        {
            "size": sizes,
            "label": [str(s) if s < max_bin else f"{max_bin}+" for s in sizes],
            "baskets": counts.astype("int64"),
            "share": counts / max(counts.sum(), 1),
        }
    )
    return per, dist


def department_mix(tx: pd.DataFrame, department: pd.Series) -> pd.DataFrame:
    """Per department: sales, share of sales, baskets holding it and share of baskets; by sales."""
    frame = pd.DataFrame(
        {BASKET_ID: tx[BASKET_ID].to_numpy(), DEPARTMENT: department.to_numpy(), "sales": tx[SALES_VALUE]}
    )
    n_baskets = frame[BASKET_ID].nunique()
    out = frame.groupby(DEPARTMENT).agg(sales=("sales", "sum"), baskets=(BASKET_ID, "nunique"))
    out["share_of_sales"] = out["sales"] / (out["sales"].sum() or 1.0)
    out["share_of_baskets"] = out["baskets"] / max(n_baskets, 1)
    out = out.sort_values(["sales"], ascending=False, kind="mergesort")
    return out.reset_index().astype({"baskets": "int64"})


def category_pairs(basket: np.ndarray, category: np.ndarray, min_baskets: int) -> pd.DataFrame:
    """Category pairs bought in the same basket, with support, confidence both ways and lift.

    One sparse basket x category matrix ``X`` (1 when the basket holds the category) and one product
    ``X.T @ X`` give every pair's count at once. For categories A and B over N baskets:
    ``support = n(A and B) / N``, ``confidence_ab = n(A and B) / n(A)`` (of baskets with A, the share
    with B), ``lift = support / (n(A)/N x n(B)/N)`` (1 = independent). Pairs in fewer than
    ``min_baskets`` baskets are left out.

    Returns
    -------
    pandas.DataFrame
        ``category_a, category_b`` (a < b by name), ``baskets``, ``support``, ``confidence_ab``,
        ``confidence_ba``, ``lift``; sorted by lift, then baskets.
    """
    b_codes, _ = pd.factorize(basket)
    c_codes, names = pd.factorize(category)
    n = int(b_codes.max()) + 1 if len(b_codes) else 0
    x = sp.csr_matrix((np.ones(len(b_codes), dtype=np.float32), (b_codes, c_codes)), shape=(n, len(names)))
    x.data[:] = 1.0  # a basket with three lines of one category holds it once
    single = np.asarray(x.sum(axis=0)).ravel()
    co = sp.triu(x.T @ x, k=1).tocoo()
    keep = co.data >= min_baskets
    a, b, together = co.row[keep], co.col[keep], co.data[keep].astype("float64")
    name_a, name_b = np.asarray(names)[a], np.asarray(names)[b]
    swap = name_a > name_b
    a, b = np.where(swap, b, a), np.where(swap, a, b)
    out = pd.DataFrame(
        {
            "category_a": np.asarray(names)[a],
            "category_b": np.asarray(names)[b],
            "baskets": together.astype("int64"),
            "support": together / max(n, 1),
            "confidence_ab": together / single[a],
            "confidence_ba": together / single[b],
            "lift": together * n / (single[a] * single[b]),
        }
    )
    return out.sort_values(
        ["lift", "baskets", "category_a", "category_b"],
        ascending=[False, False, True, True],
        kind="mergesort",
    ).reset_index(drop=True)


def _figure(dist: pd.DataFrame, mix: pd.DataFrame, pairs: pd.DataFrame) -> Figure:
    fig = Figure(figsize=(15, 5))
    ax_size, ax_mix, ax_pairs = fig.subplots(1, 3)
    ax_size.bar(dist["size"], dist["share"], color="tab:blue")
    ax_size.set(
        title="Basket size", xlabel="distinct items in the basket (last bin: and more)", ylabel="share"
    )
    top = mix.head(_MIX_BARS).iloc[::-1]
    ax_mix.barh(top[DEPARTMENT], top["share_of_sales"], color="tab:green")
    ax_mix.set(title="Department mix", xlabel="share of sales")
    ax_mix.tick_params(axis="y", labelsize=7)
    head = pairs.head(_PAIR_BARS).iloc[::-1]
    labels = [f"{a[:20]} + {b[:20]}" for a, b in zip(head["category_a"], head["category_b"], strict=True)]
    ax_pairs.barh(labels, head["lift"], color="tab:purple")
    ax_pairs.set(title="What goes with what (lift)", xlabel="lift")
    ax_pairs.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    return fig


def build(data: ReportData, cutoff: int, config: ReportsConfig) -> Report:
    """Basket sizes, department mix and category pairs over the weeks before ``cutoff``."""
    params: BasketParams = config.basket
    tx = window(data.dataset.transactions, cutoff, params.weeks)
    info = data.dataset.catalog.set_index(ITEM_ID)
    per, dist = basket_sizes(tx, params.max_size_bin)
    mix = department_mix(tx, tx[ITEM_ID].map(info[DEPARTMENT]))
    pairs = category_pairs(
        tx[BASKET_ID].to_numpy(),
        tx[ITEM_ID].map(info[CATEGORY]).astype(str).to_numpy(),
        params.min_pair_baskets,
    )
    top_pairs = pairs.head(params.top_pairs)
    return Report(
        name=NAME,
        title="Baskets: size, mix and what goes with what",
        cutoff=cutoff,
        about=(
            f"Baskets (shopping trips) of the {params.weeks} weeks before week {cutoff}. Size = distinct "
            "products in the basket. Department mix: each department's share of sales and of baskets "
            "holding it. Pairs of product categories in the same basket: `support` = share of all "
            "baskets holding both, `confidence_ab` = of the baskets holding A, the share also holding B, "
            "`lift` = how much more often they go together than if independent (1 = no link). Only "
            f"pairs in at least {params.min_pair_baskets} baskets are ranked, so rare pairs do not top "
            "the list by chance."
        ),
        numbers={
            "baskets": len(per),
            "mean_items": float(per["items"].mean()) if len(per) else float("nan"),
            "median_items": float(per["items"].median()) if len(per) else float("nan"),
            "mean_value": float(per["value"].mean()) if len(per) else float("nan"),
            "median_value": float(per["value"].median()) if len(per) else float("nan"),
            "pairs_with_support": len(pairs),
        },
        tables={"basket_sizes": dist, "department_mix": mix, "category_pairs": top_pairs},
        figures={"basket": _figure(dist, mix, top_pairs)},
    )
