"""From the per-member outcome table to per-arm numbers, differences vs control, guardrails and a verdict.

Every treatment arm is compared with the control arm (the holdout, else the baseline): money metrics
per member with Welch intervals and, when a pre-period covariate is there, CUPED; completion rate and
pick purchase rates as ratio metrics with the delta method; arm sizes with a sample-ratio-mismatch
test. The verdict is one plain sentence per arm.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import stats

from engine.errors import ExperimentError
from engine.experiments.bayes import BayesSummary, bayes_summary
from engine.experiments.config import AnalysisConfig
from engine.experiments.corrections import Correction, adjust_p_values
from engine.experiments.definition import ExperimentDefinition
from engine.experiments.exposure import ExposureSummary, shown_only
from engine.experiments.sequential import sequential_estimate
from engine.experiments.stats import (
    Estimate,
    SrmResult,
    cuped_diff,
    ratio_diff,
    ratio_mean_var,
    srm_test,
    welch_diff,
)
from engine.experiments.verdict import GuardrailResult, arm_verdict, evaluate_guardrail

#: Per-member money metrics: definition metric name -> member frame column.
MONEY_METRICS: dict[str, str] = {
    "net_profit_per_member": "net_profit",
    "gross_margin_per_member": "gross_margin",
    "spend_per_member": "spend",
}


@dataclass(frozen=True)
class ArmSummary:
    """Totals and per-member means of one arm."""

    arm: str
    policy: str
    members: int
    exposures: int
    challenges: int
    completions: int
    completion_rate: float
    spend: float
    gross_margin: float
    reward_cost: float
    net_profit: float
    opt_out_rate: float


@dataclass(frozen=True)
class Comparison:
    """One metric of one arm against control; ``method`` is welch, cuped or delta."""

    metric: str
    arm: str
    control: str
    method: str
    estimate: Estimate
    variance_reduction: float | None = None
    #: The p-value after the definition's multiple-comparison correction; None outside the family
    #: (the Welch row of a metric that also has a CUPED row).
    p_adjusted: float | None = None
    #: The confidence sequence and always-valid p-value (sequential experiments only).
    sequential: Estimate | None = None

    @property
    def decisive(self) -> Estimate:
        """The estimate whose interval and p-value decide: the sequential one when there is one."""
        return self.sequential if self.sequential is not None else self.estimate


@dataclass(frozen=True)
class LiftEstimate:
    """Measured effect of an offer on a pick kind's purchase rate (treatment picks vs holdout shadows)."""

    arm: str
    kind: str
    rate_offer: float
    rate_base: float
    absolute: Estimate
    relative: float
    relative_ci_low: float
    relative_ci_high: float
    #: Delta-method standard errors of each rate (members as units), for the log odds ratio.
    rate_offer_se: float = float("nan")
    rate_base_se: float = float("nan")
    #: Members with an offered (or shadow) pick of this kind, both arms.
    members: int = 0


@dataclass(frozen=True)
class AnalysisResult:
    """Everything the report shows."""

    experiment: str
    primary_metric: str
    control: str
    alpha: float
    correction: str
    sequential: bool
    arms: tuple[ArmSummary, ...]
    comparisons: tuple[Comparison, ...]
    srm: SrmResult
    guardrails: tuple[GuardrailResult, ...]
    lifts: tuple[LiftEstimate, ...]
    verdicts: tuple[str, ...]
    #: Chance to beat control and expected loss on the primary metric, per treatment arm.
    bayes: dict[str, BayesSummary] = field(default_factory=dict)
    #: Fetched vs shown per arm, when the definition counts exposure when shown.
    exposure: ExposureSummary | None = None

    def comparison(self, metric: str, arm: str, method: str | None = None) -> Comparison:
        """The comparison of ``metric`` for ``arm`` (CUPED preferred when ``method`` is None)."""
        found = [c for c in self.comparisons if c.metric == metric and c.arm == arm]
        if method is not None:
            found = [c for c in found if c.method == method]
        if not found:
            raise ExperimentError(f"no comparison of {metric!r} for arm {arm!r} (method {method})")
        return next((c for c in found if c.method == "cuped"), found[0])


def summarize_arm(frame: pd.DataFrame, arm: str, policy: str) -> ArmSummary:
    """Totals and per-member means of ``arm``'s rows of the member frame."""
    rows = frame[frame["arm"] == arm]
    n = len(rows)
    challenges = int(rows["challenges"].sum())
    completions = int(rows["completions"].sum())

    def mean(col: str) -> float:
        return float(rows[col].mean()) if n else float("nan")

    return ArmSummary(
        arm=arm,
        policy=policy,
        members=n,
        exposures=int(rows["exposures"].sum()),
        challenges=challenges,
        completions=completions,
        completion_rate=completions / challenges if challenges else float("nan"),
        spend=mean("spend"),
        gross_margin=mean("gross_margin"),
        reward_cost=mean("reward_cost"),
        net_profit=mean("net_profit"),
        opt_out_rate=mean("opted_out"),
    )


def _compare_arm(t: pd.DataFrame, c: pd.DataFrame, arm: str, control: str, alpha: float) -> list[Comparison]:
    out: list[Comparison] = []
    has_covariate = bool((t["pre_spend"].abs().sum() + c["pre_spend"].abs().sum()) > 0)
    for metric, col in MONEY_METRICS.items():
        out.append(Comparison(metric, arm, control, "welch", welch_diff(t[col], c[col], alpha)))
        if has_covariate:
            cu = cuped_diff(t[col], t["pre_spend"], c[col], c["pre_spend"], alpha)
            out.append(Comparison(metric, arm, control, "cuped", cu.estimate, cu.variance_reduction))
    reward = welch_diff(t["reward_cost"], c["reward_cost"], alpha)
    out.append(Comparison("reward_cost_per_member", arm, control, "welch", reward))
    out.append(
        Comparison("opt_out_rate", arm, control, "welch", welch_diff(t["opted_out"], c["opted_out"], alpha))
    )
    if t["challenges"].sum() > 0 and c["challenges"].sum() > 0:
        est = ratio_diff(t["completions"], t["challenges"], c["completions"], c["challenges"], alpha)
        out.append(Comparison("completion_rate", arm, control, "delta", est))
    return out


def _lifts(t: pd.DataFrame, c: pd.DataFrame, arm: str, alpha: float) -> list[LiftEstimate]:
    out: list[LiftEstimate] = []
    z = float(stats.norm.ppf(1 - alpha / 2))
    for kind in ("habitual", "stretch"):
        offered, bought = f"{kind}_offered", f"{kind}_bought"
        if t[offered].sum() == 0 or c[offered].sum() == 0:
            continue
        est = ratio_diff(t[bought], t[offered], c[bought], c[offered], alpha)
        rt, rc = est.treatment_mean, est.control_mean
        nan = float("nan")
        _, var_t = ratio_mean_var(t[bought].to_numpy(dtype="float64"), t[offered].to_numpy(dtype="float64"))
        _, var_c = ratio_mean_var(c[bought].to_numpy(dtype="float64"), c[offered].to_numpy(dtype="float64"))
        se = {"rate_offer_se": float(np.sqrt(var_t)), "rate_base_se": float(np.sqrt(var_c))}
        members = int((t[offered] > 0).sum() + (c[offered] > 0).sum())
        if rc <= 0 or rt <= 0:  # no base rate: only the absolute lift is defined
            out.append(LiftEstimate(arm, kind, rt, rc, est, nan, nan, nan, **se, members=members))
            continue
        # Delta method on rt / rc: var ~ (rt/rc)^2 (var_t/rt^2 + var_c/rc^2).
        rel = rt / rc - 1
        se_rel = (rt / rc) * float(np.sqrt(var_t / rt**2 + var_c / rc**2))
        out.append(
            LiftEstimate(
                arm, kind, rt, rc, est, rel, rel - z * se_rel, rel + z * se_rel, **se, members=members
            )
        )
    return out


def _preferred(comparisons: list[Comparison]) -> list[int]:
    """Index of the one comparison per (arm, metric) the analysis uses: CUPED where there is one."""
    chosen: dict[tuple[str, str], int] = {}
    for i, c in enumerate(comparisons):
        key = (c.arm, c.metric)
        if key not in chosen or c.method == "cuped":
            chosen[key] = i
    return sorted(chosen.values())


def _corrected(comparisons: list[Comparison], method: Correction) -> list[Comparison]:
    """The comparisons with adjusted p-values over the family of preferred ones (arms x metrics)."""
    family = _preferred(comparisons)
    adjusted = adjust_p_values([comparisons[i].decisive.p_value for i in family], method)
    out = list(comparisons)
    for i, p in zip(family, adjusted, strict=True):
        out[i] = replace(out[i], p_adjusted=p)
    return out


def _guardrail(
    comparisons: list[Comparison], metric: str, arm: str, max_harm: float
) -> GuardrailResult | None:
    found = [c for c in comparisons if c.metric == metric and c.arm == arm]
    if not found:
        return None
    est = next((c for c in found if c.method == "cuped"), found[0]).decisive
    return evaluate_guardrail(metric, arm, est, max_harm)


def analyze(frame: pd.DataFrame, definition: ExperimentDefinition, config: AnalysisConfig) -> AnalysisResult:
    """Analyse an experiment's per-member outcome table (see :mod:`engine.experiments.frame`).

    Raises
    ------
    ExperimentError
        An arm has fewer than two members, or the definition has no control arm.
    """
    exposure = None
    if definition.exposure == "displayed":
        frame, exposure = shown_only(frame, definition, config.srm_alpha)
    control = definition.control
    c = frame[frame["arm"] == control.name]
    arms = tuple(summarize_arm(frame, a.name, a.policy) for a in definition.arms)
    srm = srm_test([a.members for a in arms], definition.weights, config.srm_alpha)
    comparisons: list[Comparison] = []
    lifts: list[LiftEstimate] = []
    for arm in definition.arms:
        if arm.name == control.name:
            continue
        t = frame[frame["arm"] == arm.name]
        mine = _compare_arm(t, c, arm.name, control.name, config.alpha)
        if definition.sequential:
            tuning = definition.sequential_tuning or config.sequential_tuning
            n_total = len(t) + len(c)
            mine = [
                replace(x, sequential=sequential_estimate(x.estimate, n_total, config.alpha, tuning))
                for x in mine
            ]
        comparisons += mine
        if arm.policy == "recommender" and control.policy == "holdout":
            # The holdout's shadow picks are the recommender's: only that arm has a like-for-like base.
            lifts += _lifts(t, c, arm.name, config.alpha)
    comparisons = _corrected(comparisons, definition.correction)
    guards = [
        g
        for arm in definition.arms
        if arm.name != control.name
        for rule in definition.guardrails
        if (g := _guardrail(comparisons, rule.metric, arm.name, rule.max_harm)) is not None
    ]
    primary: str = definition.primary_metric
    verdicts = []
    bayes: dict[str, BayesSummary] = {}
    interval_name = f"{100 * (1 - config.alpha):.0f}% " + (
        "confidence sequence" if definition.sequential else "CI"
    )
    for arm in definition.arms:
        if arm.name == control.name:
            continue
        found = [x for x in comparisons if x.metric == primary and x.arm == arm.name]
        if not found:
            verdicts.append(f"{arm.name}: {primary} cannot be compared with {control.name}.")
            continue
        best = next((x for x in found if x.method == "cuped"), found[0])
        bayes[arm.name] = bayes_summary(best.estimate.diff, best.estimate.std_err)
        verdicts.append(
            arm_verdict(
                arm.name,
                control.name,
                primary,
                best.method,
                best.decisive,
                srm,
                guards,
                interval_name,
                adjusted=(definition.correction, best.p_adjusted, config.alpha),
            )
        )
    return AnalysisResult(
        experiment=definition.name,
        primary_metric=primary,
        control=control.name,
        alpha=config.alpha,
        correction=definition.correction,
        sequential=definition.sequential,
        arms=arms,
        comparisons=tuple(comparisons),
        srm=srm,
        guardrails=tuple(guards),
        lifts=tuple(lifts),
        verdicts=tuple(verdicts),
        bayes=bayes,
        exposure=exposure,
    )
