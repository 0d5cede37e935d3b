"""Campaign coupons: difference in differences on the log-odds scale, recipients vs non-recipients.

For each campaign with enough history, the *campaign window* (its weeks, at most
``max_window_weeks``) is compared with the *pre window* (as many weeks just before), for the
households that received it against those that did not (the comparison absorbs seasonality and
whatever else moves everyone's purchases).

Habitual (a product the household already buys)
    Units: household x coupon product pairs bought in at least ``habitual_min_weeks`` distinct weeks
    before the pre window. Within each pair, the Mantel-Haenszel odds ratio of buying in a campaign
    week vs a pre week (the pair is its own control: taste drops out); ``beta`` = log OR of recipients
    - log OR of non-recipients, the latter reweighted to the recipients' mix of campaigns.

Stretch (a first purchase)
    Units: household x category pairs, categories of the campaign's coupon products, never bought before
    the window starts. The weekly hazard of a first purchase per window; ``beta`` = the difference in
    differences of logit hazards (recipients' change minus non-recipients' change).

Variants (:class:`Design`): every coupon product or only those of narrow coupons; every recipient or
only those who redeemed one of its coupons (an upper bound: redeeming is buying); every other
household as the comparison, or only households that received some other campaign (targeted alike).

Assumptions (observational data): without the campaign, recipients' log odds would have moved like
non-recipients' (parallel trends on the log-odds scale); receiving a campaign does not change which
households are in the comparison; a household's purchases of other campaigns' products do not move
this one's comparison. Campaigns are targeted (type A went to high spenders): levels differ, only
trends must match.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from engine.lift.bootstrap import FloatArray, logit, safe_log_ratio
from engine.lift.config import CampaignParams
from engine.lift.panel import IntArray, Panel
from engine.lift.sources import PromotionTables

ProductSet = Literal["all", "specific"]

#: Habitual cells: recipients' MH numerator, denominator, pairs; then the same for non-recipients.
HABITUAL_CELLS = 6
#: Stretch cells: (events, at-risk weeks) x (pre, campaign) for recipients, then non-recipients.
STRETCH_CELLS = 8


@dataclass(frozen=True)
class Window:
    """A campaign's weeks: pre window ``[pre_start, start)``, campaign window ``[start, end]``."""

    campaign_id: int
    campaign_type: str
    pre_start: int
    start: int
    end: int

    @property
    def length(self) -> int:
        """Weeks in each window."""
        return self.end - self.start + 1


def campaign_windows(
    tables: PromotionTables, panel: Panel, params: CampaignParams
) -> tuple[list[Window], list[str]]:
    """The campaigns the data can judge, and one line per campaign left out saying why."""
    windows: list[Window] = []
    skipped: list[str] = []
    for row in tables.campaigns.sort_values("start_week").itertuples(index=False):
        start = int(row.start_week)
        end = min(int(row.end_week), panel.last_week, start + params.max_window_weeks - 1)
        pre_start = start - (end - start + 1)
        if end < start:
            skipped.append(f"campaign {row.campaign_id}: starts after the data ends")
        elif pre_start - params.min_history_weeks < panel.first_week:
            skipped.append(
                f"campaign {row.campaign_id}: fewer than {params.min_history_weeks} weeks of purchases "
                f"before its pre window (starts in week {start})"
            )
        else:
            windows.append(Window(int(row.campaign_id), str(row.campaign_type), pre_start, start, end))
    return windows, skipped


def coupon_products(
    tables: PromotionTables, panel: Panel, campaign_id: int, which: ProductSet, max_products: int
) -> IntArray:
    """Panel indices of the products a campaign's coupons cover (``specific``: narrow coupons only)."""
    rows = tables.coupons[tables.coupons["campaign_id"] == campaign_id]
    if which == "specific":
        size = rows.groupby("coupon_upc")["product_id"].transform("nunique")
        rows = rows[size <= max_products]
    return panel.product_index(rows["product_id"].to_numpy())


@dataclass(frozen=True)
class Design:
    """Which products, which treated households and which comparison households a variant uses."""

    products: ProductSet
    #: ``recipients``: every recipient; ``redeemers``: recipients who redeemed one of its coupons.
    treated: Literal["recipients", "redeemers"] = "recipients"
    #: ``non_recipients``: every other household; ``other_recipients``: households that received some
    #: other campaign (targeted alike) but not this one.
    comparison: Literal["non_recipients", "other_recipients"] = "non_recipients"


def _groups(tables: PromotionTables, panel: Panel, campaign_id: int, design: Design) -> IntArray:
    """Per household: 1 treated, 0 comparison, 2 left out."""
    receipts = tables.recipients
    got = panel.household_index(receipts.loc[receipts["campaign_id"] == campaign_id, "household_id"])
    group = np.zeros(panel.n_households, dtype=np.int64)
    if design.comparison == "other_recipients":
        group[:] = 2
        group[panel.household_index(receipts.loc[receipts["campaign_id"] != campaign_id, "household_id"])] = 0
    group[got] = 1
    if design.treated == "redeemers":
        red = tables.redemptions.loc[tables.redemptions["campaign_id"] == campaign_id, "household_id"]
        group[np.setdiff1d(got, panel.household_index(red))] = 2
    return group


def _scatter(
    out: FloatArray, c: int, hh: IntArray, dept: IntArray, values: list[FloatArray], offset: int
) -> None:
    n_dept = out.shape[2]
    key = hh * n_dept + dept
    size = out.shape[0] * n_dept
    for j, v in enumerate(values):
        out[:, c, :, offset + j] += np.bincount(key, weights=v, minlength=size).reshape(out.shape[0], n_dept)


def habitual_cells(
    panel: Panel,
    tables: PromotionTables,
    windows: list[Window],
    params: CampaignParams,
    design: Design,
    min_weeks: int,
) -> FloatArray:
    """``(households, campaigns, departments, HABITUAL_CELLS)`` Mantel-Haenszel sums (see module doc)."""
    n_pairs = panel.pair_hh.size
    out = np.zeros((panel.n_households, len(windows), len(panel.departments), HABITUAL_CELLS))
    for c, w in enumerate(windows):
        products = np.zeros(panel.product_ids.size, dtype=bool)
        products[
            coupon_products(tables, panel, w.campaign_id, design.products, params.max_products_per_coupon)
        ] = True
        rows = products[panel.product]
        hist = np.bincount(panel.pair[rows & (panel.week < w.pre_start)], minlength=n_pairs)
        pre = np.bincount(
            panel.pair[rows & (panel.week >= w.pre_start) & (panel.week < w.start)], minlength=n_pairs
        )
        camp = np.bincount(
            panel.pair[rows & (panel.week >= w.start) & (panel.week <= w.end)], minlength=n_pairs
        )
        keep = hist >= min_weeks
        group = _groups(tables, panel, w.campaign_id, design)
        length = float(w.length)
        a, p = camp[keep].astype(np.float64), pre[keep].astype(np.float64)
        num = a * (length - p) / (2 * length)
        den = (length - a) * p / (2 * length)
        hh, dept = panel.pair_hh[keep], panel.pair_dept[keep]
        g = group[hh]
        for offset, code in ((0, 1), (3, 0)):
            m = g == code
            _scatter(out, c, hh[m], dept[m], [num[m], den[m], np.ones(int(m.sum()))], offset)
    return out


def stretch_cells(
    panel: Panel,
    tables: PromotionTables,
    windows: list[Window],
    params: CampaignParams,
    design: Design,
) -> FloatArray:
    """``(households, campaigns, departments, STRETCH_CELLS)`` first-purchase counts (see module doc)."""
    n_dept = len(panel.departments)
    n_cat = panel.category_dept.size
    out = np.zeros((panel.n_households, len(windows), n_dept, STRETCH_CELLS))
    household_start = (
        pd.Series(panel.week).groupby(panel.hh).min().reindex(range(panel.n_households)).to_numpy()
    )
    for c, w in enumerate(windows):
        cats = np.zeros(n_cat, dtype=bool)
        cats[
            panel.product_cat[
                coupon_products(tables, panel, w.campaign_id, design.products, params.max_products_per_coupon)
            ]
        ] = True
        per_dept = np.bincount(panel.category_dept[cats], minlength=n_dept).astype(np.float64)
        sel = cats[panel.cat]
        hh, dept, f = panel.cat_hh[sel], panel.category_dept[panel.cat[sel]], panel.cat_first[sel]
        length = float(w.length)
        values: list[FloatArray] = []
        for lo in (w.pre_start, w.start):
            hi = lo + w.length - 1
            before = (f < lo).astype(np.float64)
            inside = ((f >= lo) & (f <= hi)).astype(np.float64)
            # weeks a pair adopting at f was at risk fall short of the window by (hi - f)
            short = np.where(inside > 0, hi - f, 0).astype(np.float64)
            key = hh * n_dept + dept
            size = panel.n_households * n_dept
            n_before = np.bincount(key, weights=before, minlength=size).reshape(-1, n_dept)
            events = np.bincount(key, weights=inside, minlength=size).reshape(-1, n_dept).astype(np.float64)
            lost = np.bincount(key, weights=short, minlength=size).reshape(-1, n_dept)
            at_risk = per_dept[None, :] - n_before
            values += [events, length * at_risk - lost]
        group = _groups(tables, panel, w.campaign_id, design)
        group[~(household_start < w.pre_start)] = 2  # no history: "never bought" means nothing yet
        for offset, code in ((0, 1), (4, 0)):
            m = group == code
            for j, v in enumerate(values):
                out[m, c, :, offset + j] = v[m]
    return out


def habitual_statistic(sums: FloatArray) -> FloatArray:
    """``beta`` from habitual sums shaped ``(..., campaigns, HABITUAL_CELLS)``."""
    num_t, den_t, pairs_t = sums[..., 0], sums[..., 1], sums[..., 2]
    num_c, den_c, pairs_c = sums[..., 3], sums[..., 4], sums[..., 5]
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.where(pairs_c > 0, pairs_t / pairs_c, 0.0)  # comparison reweighted to the treated mix
    treated = safe_log_ratio(num_t.sum(axis=-1), den_t.sum(axis=-1))
    control = safe_log_ratio((k * num_c).sum(axis=-1), (k * den_c).sum(axis=-1))
    return treated - control


def stretch_statistic(sums: FloatArray) -> FloatArray:
    """``beta`` from stretch sums shaped ``(..., campaigns, STRETCH_CELLS)``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.where(sums[..., 5] > 0, sums[..., 1] / sums[..., 5], 0.0)
        t = sums[..., :4].sum(axis=-2)
        c = (k[..., None] * sums[..., 4:]).sum(axis=-2)
        t_change = logit(t[..., 2] / t[..., 3]) - logit(t[..., 0] / t[..., 1])
        c_change = logit(c[..., 2] / c[..., 3]) - logit(c[..., 0] / c[..., 1])
    return np.asarray(t_change - c_change, dtype=np.float64)
