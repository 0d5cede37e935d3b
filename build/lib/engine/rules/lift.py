"""How much an offer raises a pick's purchase probability: an odds-ratio lift read from evidence. Pure.

The model
    logit(p_offer) = logit(p_base) + beta

with one ``beta`` (a log odds ratio) per pick kind (``habitual`` or ``stretch``) and, where the evidence
supports it, per department. A near-certain purchase gains little, a 30% one gains most, and a
probability of 0 or 1 is left where it is: the offer cannot make a sure thing surer.

Where the numbers come from
    A lift file (``configs/lifts.toml``; format below) holds the estimates with their provenance:
    ``offers lift estimate`` writes one from the data's real promotions and ``offers experiment analyze``
    writes the same format from an experiment. The guards never use the point estimate: they use a
    conservative quantile of each estimate's uncertainty (``economic_guard.lift_quantile`` in the rules),
    ``beta_q = log_odds + z(q) * std_error``, floored at 0 (an offer is never assumed to lower purchases;
    a measured harm shows up as a zero lift and so as a refusal by the economic guard).

    ``status`` says how much the number is worth: ``measured`` (a randomised experiment), ``estimated``
    (observational data, with the method's assumptions stated) or ``prior`` (no usable evidence: a
    documented assumption). Challenges that rest on a ``prior`` run as a bounded trial
    (``budget.weekly_trial_cost``) that measures the lift, never as if the lift were known.

File format (TOML)::

    [[lift]]
    kind = "stretch"            # habitual | stretch
    department = "*"            # "*" = every department without an entry of its own
    log_odds = 0.41             # beta
    std_error = 0.20            # of beta (>= 0)
    ci_low = 0.02               # the source's own interval for beta, at `confidence`
    ci_high = 0.80
    confidence = 0.95
    n = 1234                    # units of evidence (households, members) behind the estimate
    status = "estimated"        # measured | estimated | prior
    source = "Complete Journey campaigns type A/B/C: coupon products, recipients vs non-recipients"
    method = "difference in differences, household bootstrap (1000 resamples)"
    estimated_on = 2026-12-01
"""

from __future__ import annotations

import math
from datetime import date
from statistics import NormalDist
from typing import Annotated, Literal

import numpy as np
import numpy.typing as npt
from pydantic import Field, model_validator

from engine.config import StrictModel

PickKind = Literal["habitual", "stretch"]
Status = Literal["measured", "estimated", "prior"]
FloatArray = npt.NDArray[np.float64]

#: The department key of an estimate that applies to every department without one of its own.
ANY_DEPARTMENT = "*"

Finite = Annotated[float, Field(allow_inf_nan=False)]


class LiftEstimate(StrictModel):
    """One estimate of ``beta`` for a pick kind (and department), with where it came from."""

    kind: PickKind
    department: str = ANY_DEPARTMENT
    log_odds: Finite
    std_error: Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
    ci_low: Finite
    ci_high: Finite
    confidence: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.95
    n: Annotated[int, Field(ge=0)]
    status: Status
    source: Annotated[str, Field(min_length=1)]
    method: Annotated[str, Field(min_length=1)]
    estimated_on: date

    @model_validator(mode="after")
    def _ordered(self) -> LiftEstimate:
        if not self.ci_low <= self.log_odds <= self.ci_high:
            raise ValueError(
                f"{self.kind}/{self.department}: log_odds {self.log_odds} lies outside its interval "
                f"[{self.ci_low}, {self.ci_high}]"
            )
        return self

    def bound(self, quantile: float) -> float:
        """``beta`` at ``quantile`` of its (normal) uncertainty, floored at 0."""
        beta = self.log_odds + NormalDist().inv_cdf(quantile) * self.std_error
        return max(0.0, beta)

    @property
    def odds_ratio(self) -> float:
        """``exp(beta)``: the factor the offer multiplies the odds of buying by."""
        return math.exp(self.log_odds)


class LiftFile(StrictModel):
    """A lift file: estimates, at most one per (kind, department), and a fallback per kind."""

    lift: tuple[LiftEstimate, ...]

    @model_validator(mode="after")
    def _complete(self) -> LiftFile:
        seen: set[tuple[str, str]] = set()
        for e in self.lift:
            key = (e.kind, e.department)
            if key in seen:
                raise ValueError(f"two estimates for kind {e.kind!r} and department {e.department!r}")
            seen.add(key)
        for kind in ("habitual", "stretch"):
            if (kind, ANY_DEPARTMENT) not in seen:
                raise ValueError(f"no estimate for kind {kind!r} with department '*' (the fallback)")
        return self

    def estimate(self, kind: PickKind, department: str) -> LiftEstimate:
        """The estimate for ``kind`` in ``department``, or the kind's ``*`` fallback."""
        fallback: LiftEstimate | None = None
        for e in self.lift:
            if e.kind != kind:
                continue
            if e.department == department:
                return e
            if e.department == ANY_DEPARTMENT:
                fallback = e
        assert fallback is not None  # guaranteed by _complete
        return fallback


def logit_shift(p_base: float, beta: float) -> float:
    """``p_offer`` for one pick: ``sigmoid(logit(p_base) + beta)``; 0 and 1 stay put, NaN stays NaN."""
    if not math.isfinite(p_base) or p_base <= 0.0 or p_base >= 1.0:
        return p_base
    odds = p_base / (1.0 - p_base) * math.exp(beta)
    return odds / (1.0 + odds)


def logit_shift_array(p_base: FloatArray, beta: FloatArray | float) -> FloatArray:
    """Vectorised :func:`logit_shift` (``beta`` per element or one for all)."""
    p = np.asarray(p_base, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        odds = p / (1.0 - p) * np.exp(beta)
        shifted = odds / (1.0 + odds)
    inner = (p > 0.0) & (p < 1.0)
    return np.where(inner, shifted, p)
