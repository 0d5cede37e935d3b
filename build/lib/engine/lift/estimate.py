"""Every method's estimate of ``beta`` per pick kind (and department, and campaign type), with CIs.

:func:`estimate_lifts` runs the campaign difference in differences on three product / household
choices and the in-store promotion comparison (see :mod:`engine.lift.campaigns` and
:mod:`engine.lift.promos`), each with a household bootstrap (:mod:`engine.lift.bootstrap`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from engine.lift import campaigns as cm
from engine.lift import promos as pm
from engine.lift.bootstrap import FloatArray, Statistic, bootstrap, poisson_weights
from engine.lift.config import METHODS, LiftEstimateConfig, Method
from engine.lift.panel import Panel, build_panel
from engine.lift.sources import PromotionTables
from engine.rules.lift import ANY_DEPARTMENT, PickKind

KINDS: tuple[PickKind, ...] = ("habitual", "stretch")
#: The campaign-type key of an estimate pooled over every campaign type.
ANY_TYPE = "*"

METHOD_LABELS: dict[Method, str] = {
    "campaign_all": "campaign DiD, every coupon product, recipients vs non-recipients",
    "campaign_specific": "campaign DiD, products of narrow coupons only, recipients vs non-recipients",
    "campaign_targeted_alike": "campaign DiD, narrow coupons, recipients vs recipients of other campaigns",
    "campaign_redeemers": "campaign DiD, recipients who redeemed a coupon (upper bound: selects on buying)",
    "promotions": "display/mailer at the main store, promoted vs unpromoted weeks within household",
}

#: The campaign variants behind each campaign method.
DESIGNS: dict[Method, cm.Design] = {
    "campaign_all": cm.Design("all"),
    "campaign_specific": cm.Design("specific"),
    "campaign_targeted_alike": cm.Design("specific", comparison="other_recipients"),
    "campaign_redeemers": cm.Design("all", treated="redeemers"),
}


@dataclass(frozen=True)
class MethodEstimate:
    """One method's ``beta`` for a pick kind, department and campaign type, with its bootstrap interval."""

    method: Method
    kind: PickKind
    department: str
    campaign_type: str
    log_odds: float
    std_error: float
    ci_low: float
    ci_high: float
    #: Households with any unit of evidence (treated and comparison).
    households: int
    #: Of those, households that got the offer (recipients, or households with a promoted week).
    treated_households: int
    failed_resamples: int

    @property
    def finite(self) -> bool:
        """Whether an estimate and an interval exist."""
        return bool(np.isfinite([self.log_odds, self.ci_low, self.ci_high, self.std_error]).all())

    @property
    def shows_lift(self) -> bool:
        """Whether the whole interval lies above zero."""
        return self.finite and self.ci_low > 0.0


@dataclass(frozen=True)
class LiftEvidence:
    """All estimates of a run and what the reader must know about the data behind them."""

    estimates: tuple[MethodEstimate, ...]
    notes: tuple[str, ...]
    households: int
    sampled: bool
    config: LiftEstimateConfig
    source: str
    campaign_windows: tuple[cm.Window, ...] = field(default_factory=tuple)

    def find(self, method: Method, kind: PickKind, department: str = ANY_DEPARTMENT) -> MethodEstimate | None:
        """The estimate of ``method`` for ``kind`` and ``department`` over every campaign type."""
        for e in self.estimates:
            if (e.method, e.kind, e.department, e.campaign_type) == (method, kind, department, ANY_TYPE):
                return e
        return None


@dataclass(frozen=True)
class _Cells:
    """Per-household sums ``(households, campaigns, departments, cells)`` and how to read them.

    Methods without campaigns have a campaign axis of length 1 (``by_type`` False).
    """

    values: FloatArray
    statistic: Statistic
    #: ``(households, campaigns, departments)``: evidence on the treated side / on either side
    treated: FloatArray
    any_side: FloatArray
    by_type: bool


def _campaign_cells(
    method: Method,
    kind: PickKind,
    tables: PromotionTables,
    panel: Panel,
    windows: list[cm.Window],
    config: LiftEstimateConfig,
) -> _Cells:
    design = DESIGNS[method]
    if kind == "habitual":
        values = cm.habitual_cells(
            panel, tables, windows, config.campaigns, design, config.habitual_min_weeks
        )
        treated, control = values[..., 2], values[..., 5]
        return _Cells(values, cm.habitual_statistic, treated, treated + control, True)
    values = cm.stretch_cells(panel, tables, windows, config.campaigns, design)
    treated, control = values[..., 1], values[..., 5]
    return _Cells(values, cm.stretch_statistic, treated, treated + control, True)


def _promo_cells(kind: PickKind, tables: PromotionTables, panel: Panel, config: LiftEstimateConfig) -> _Cells:
    if kind == "habitual":
        values = pm.habitual_cells(tables, panel, config.promotions, config.habitual_min_weeks)
    else:
        values = pm.stretch_cells(tables, panel, config.promotions)
    values = values[:, None]
    informative = values[..., 2]
    return _Cells(values, pm.promo_statistic, informative, informative, False)


def _summarise(
    cells: _Cells,
    method: Method,
    kind: PickKind,
    panel: Panel,
    windows: list[cm.Window],
    config: LiftEstimateConfig,
    weights: FloatArray,
) -> list[MethodEstimate]:
    def one(
        campaigns: list[int], departments: list[int], department: str, campaign_type: str
    ) -> MethodEstimate:
        values = cells.values[:, campaigns][:, :, departments].sum(axis=2)
        if not cells.by_type:
            values = values[:, 0]
        treated = cells.treated[:, campaigns][:, :, departments].sum(axis=(1, 2))
        any_side = cells.any_side[:, campaigns][:, :, departments].sum(axis=(1, 2))
        iv = bootstrap(values, cells.statistic, weights, config.confidence)
        return MethodEstimate(
            method,
            kind,
            department,
            campaign_type,
            iv.estimate,
            iv.std_error,
            iv.ci_low,
            iv.ci_high,
            int((any_side > 0).sum()),
            int((treated > 0).sum()),
            iv.failed,
        )

    every_campaign = list(range(cells.values.shape[1]))
    every_department = list(range(len(panel.departments)))
    out = [one(every_campaign, every_department, ANY_DEPARTMENT, ANY_TYPE)]
    if cells.by_type:
        for ctype in sorted({w.campaign_type for w in windows}):
            idx = [i for i, w in enumerate(windows) if w.campaign_type == ctype]
            out.append(one(idx, every_department, ANY_DEPARTMENT, ctype))
    for d, name in enumerate(panel.departments):
        if int((cells.treated[:, :, d].sum(axis=1) > 0).sum()) >= config.min_department_households:
            out.append(one(every_campaign, [d], name, ANY_TYPE))
    return out


def _promotion_mix(tables: PromotionTables) -> str:
    promo = tables.promotions
    if promo.empty:
        return "promotions: none for the products bought"
    display, mailer = promo["display"].to_numpy(bool), promo["mailer"].to_numpy(bool)
    return (
        f"promotions ({len(promo):,} product x store x weeks of products bought): display only "
        f"{100 * (display & ~mailer).mean():.1f}%, mailer only {100 * (~display & mailer).mean():.1f}%, "
        f"both {100 * (display & mailer).mean():.1f}%"
    )


def sample_households(tables: PromotionTables, config: LiftEstimateConfig) -> np.ndarray | None:
    """The fixed-seed household sample of ``config.sample_households`` (None: every household)."""
    if config.sample_households is None:
        return None
    ids = np.unique(tables.purchases["household_id"].to_numpy(np.int64))
    if config.sample_households >= ids.size:
        return None
    rng = np.random.default_rng(config.seed)
    return np.sort(rng.choice(ids, size=config.sample_households, replace=False))


def estimate_lifts(
    tables: PromotionTables,
    config: LiftEstimateConfig,
    step: Callable[[str], None] | None = None,
    sampled: bool = False,
) -> LiftEvidence:
    """Run every method for both pick kinds; ``step`` is called after each (a progress bar's hook).

    ``tables`` must already be restricted to the household sample, if any (``sampled`` says so).
    """
    panel = build_panel(tables)
    windows, skipped = cm.campaign_windows(tables, panel, config.campaigns)
    weights = poisson_weights(panel.n_households, config.bootstrap_resamples, config.seed)
    estimates: list[MethodEstimate] = []
    for method in METHODS:
        for kind in KINDS:
            if method == "promotions":
                cells = _promo_cells(kind, tables, panel, config)
            else:
                cells = _campaign_cells(method, kind, tables, panel, windows, config)
            estimates += _summarise(cells, method, kind, panel, windows, config, weights)
            if step is not None:
                step(f"{method}/{kind}")
    notes = [
        f"{tables.voided_lines:,} voided transaction lines (quantity or sales value 0) left out",
        f"promotions: {tables.promotion_duplicates:,} duplicated product x store x week rows merged "
        "(promoted if any copy says so)",
        _promotion_mix(tables),
        *(
            f"{k.replace('_line_share', '')} on {100 * v:.1f}% of purchase lines"
            for k, v in tables.discounts.items()
        ),
        f"{len(windows)} campaigns judged: {', '.join(str(w.campaign_id) for w in windows)}",
        *skipped,
    ]
    return LiftEvidence(
        tuple(estimates), tuple(notes), panel.n_households, sampled, config, tables.source, tuple(windows)
    )


STEPS = len(METHODS) * len(KINDS)
