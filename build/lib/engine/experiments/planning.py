"""Planning before a run: the smallest effect an experiment can detect, from the pre-period's variance.

For each treatment arm against control, with ``n_t`` and ``n_c`` members (the population split by the
arm weights) and ``sigma`` the per-member standard deviation of the primary metric over a window as
long as the experiment, just before it::

    MDE = (z_{1 - alpha'/2} + z_{power}) * sigma * sqrt(1/n_t + 1/n_c)

``alpha'`` is ``alpha`` divided by the size of the correction's family (arms x metrics: the first,
strictest step of Holm or Benjamini-Hochberg; ``alpha`` itself without correction). With CUPED the
variance shrinks by ``rho^2``, the squared correlation of the outcome with the pre-period spend of
the ``pre_period_weeks`` before the window. A sequential experiment replaces the first quantile term
with the confidence sequence's half-width at the planned size. Shorter windows show the MDE per
number of weeks, so the plan also answers "how many weeks for an effect of X".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from engine.data.schema import (
    ITEM_ID,
    MARGIN_RATE,
    MEMBER_ID,
    PRICE,
    QUANTITY,
    SALES_VALUE,
    TIER,
    WEEK,
    Dataset,
)
from engine.errors import ExperimentError
from engine.experiments.definition import ExperimentDefinition
from engine.experiments.sequential import cs_halfwidth

#: Metrics the pre-period can stand in for: member spend and margin (no rewards were paid before).
PLANNABLE: dict[str, str] = {
    "net_profit_per_member": "margin",
    "gross_margin_per_member": "margin",
    "spend_per_member": "spend",
}
#: Comparisons per treatment arm in the analysis: three money metrics, reward cost, opt-outs, completion.
METRICS_PER_ARM = 6


@dataclass(frozen=True)
class ArmPlan:
    """One treatment arm's minimum detectable effects (metric units per member) for one duration.

    ``mean`` is the metric's per-member mean over a window of that many weeks before the start.
    """

    arm: str
    weeks: int
    n_treatment: int
    n_control: int
    mean: float
    mde: float
    mde_cuped: float
    mde_sequential: float | None
    mde_sequential_cuped: float | None


@dataclass(frozen=True)
class Plan:
    """The plan of an experiment's primary metric: MDE per arm for 1..planned weeks."""

    experiment: str
    metric: str
    members: int
    control_mean: float
    sigma: float
    variance_reduction: float
    alpha: float
    alpha_per_test: float
    family_size: int
    power: float
    planned_weeks: int
    sequential_tuning: int
    arms: tuple[ArmPlan, ...]

    def weeks_needed(self, arm: str, weekly_effect: float, cuped: bool = True) -> int | None:
        """The fewest weeks that detect ``weekly_effect`` per member and week (None: not within the plan).

        The metric sums over the experiment's weeks, so an effect of ``e`` a week is ``w * e`` after
        ``w`` weeks, against an MDE that grows more slowly than ``w``.
        """
        for p in sorted((a for a in self.arms if a.arm == arm), key=lambda a: a.weeks):
            # A sequential experiment decides with its confidence sequence: plan with its MDE.
            mde = (p.mde_sequential_cuped if cuped else p.mde_sequential) or (p.mde_cuped if cuped else p.mde)
            if mde <= weekly_effect * p.weeks:
                return p.weeks
        return None


def _member_outcomes(dataset: Dataset, first: int, last: int, pre_weeks: int) -> pd.DataFrame:
    """Per member active in the window or its pre-period: window spend and margin, pre-period spend."""
    tx = dataset.transactions
    window = tx[(tx[WEEK] >= first - pre_weeks) & (tx[WEEK] <= last)]
    unit_margin = dataset.catalog.set_index(ITEM_ID)[PRICE] * dataset.catalog.set_index(ITEM_ID)[MARGIN_RATE]
    during = window[window[WEEK] >= first]
    margin = during[QUANTITY] * during[ITEM_ID].map(unit_margin)
    if margin.isna().any():
        unknown = int(margin.isna().sum())
        raise ExperimentError(f"plan: {unknown} purchase line(s) with items not in the catalog")
    frame = pd.DataFrame(index=pd.Index(window[MEMBER_ID].unique(), name=MEMBER_ID))
    frame["spend"] = during.groupby(MEMBER_ID)[SALES_VALUE].sum()
    frame["margin"] = margin.groupby(during[MEMBER_ID]).sum()
    before = window[window[WEEK] < first]
    frame["pre_spend"] = before.groupby(MEMBER_ID)[SALES_VALUE].sum()
    return frame.fillna(0.0)


def plan_experiment(
    dataset: Dataset,
    definition: ExperimentDefinition,
    *,
    alpha: float,
    power: float,
    pre_period_weeks: int,
    sequential_tuning: int | None = None,
) -> Plan:
    """MDE of ``definition``'s primary metric per treatment arm, for 1 up to the planned number of weeks.

    The window of ``w`` weeks ends the week before ``start_week``; members are those active in it or
    in its pre-period (and in the definition's tiers, when it names any).

    Raises
    ------
    ExperimentError
        The primary metric has no pre-period stand-in, or the data has too few weeks before the start.
    """
    metric = definition.primary_metric
    if metric not in PLANNABLE:
        raise ExperimentError(
            f"plan: primary metric {metric!r} of {definition.name!r} has no pre-period counterpart; "
            f"plannable metrics: {sorted(PLANNABLE)}"
        )
    if not 0 < power < 1:
        raise ExperimentError(f"plan: power must lie in (0, 1), got {power}")
    planned = definition.end_week - definition.start_week + 1
    last = definition.start_week - 1
    if last - planned - pre_period_weeks + 1 < 1:
        raise ExperimentError(
            f"plan: {definition.name!r} starts in week {definition.start_week}: the data before it cannot "
            f"hold a {planned}-week window plus {pre_period_weeks} pre-period weeks"
        )
    control = definition.control
    treatments = [a for a in definition.arms if a.name != control.name]
    family = 1 if definition.correction == "none" else len(treatments) * METRICS_PER_ARM
    alpha_test = alpha / family
    z_power = float(stats.norm.ppf(power))
    z_alpha = float(stats.norm.ppf(1 - alpha_test / 2))
    in_tiers = None
    if definition.tiers:
        members = dataset.members
        in_tiers = set(members.loc[members[TIER].isin(definition.tiers), MEMBER_ID])
    plans: list[ArmPlan] = []
    summary: tuple[int, float, float, float] | None = None
    tuning = sequential_tuning
    for weeks in range(1, planned + 1):
        outcomes = _member_outcomes(dataset, last - weeks + 1, last, pre_period_weeks)
        if in_tiers is not None:
            outcomes = outcomes[outcomes.index.isin(in_tiers)]
        if len(outcomes) < 2:
            raise ExperimentError(f"plan: fewer than two members in the population of {definition.name!r}")
        y = outcomes[PLANNABLE[metric]].to_numpy(dtype=np.float64)
        x = outcomes["pre_spend"].to_numpy(dtype=np.float64)
        sigma = float(y.std(ddof=1))
        rho = float(np.corrcoef(y, x)[0, 1]) if x.std() > 0 and sigma > 0 else 0.0
        reduction = rho**2
        # A namespace range takes only its share of the population.
        ns = definition.namespace
        n = round(len(outcomes) * (1.0 if ns is None else ns.end - ns.start))
        if weeks == planned:
            summary = (n, float(y.mean()), sigma, reduction)
            tuning = tuning or n
        for arm in treatments:
            n_t, n_c = round(n * arm.weight), round(n * control.weight)
            se = sigma * float(np.sqrt(1 / n_t + 1 / n_c))
            se_cuped = se * float(np.sqrt(1 - reduction))
            seq = seq_cuped = None
            if definition.sequential:
                size = n_t + n_c
                seq = float(cs_halfwidth(se, size, alpha_test, tuning or size)) + z_power * se
                seq_cuped = (
                    float(cs_halfwidth(se_cuped, size, alpha_test, tuning or size)) + z_power * se_cuped
                )
            mde = (z_alpha + z_power) * se
            mde_cuped = float(mde * np.sqrt(1 - reduction))
            plans.append(ArmPlan(arm.name, weeks, n_t, n_c, float(y.mean()), mde, mde_cuped, seq, seq_cuped))
    assert summary is not None  # planned >= 1: the loop ran
    members, mean, sigma, reduction = summary
    return Plan(
        experiment=definition.name,
        metric=metric,
        members=members,
        control_mean=mean,
        sigma=sigma,
        variance_reduction=reduction,
        alpha=alpha,
        alpha_per_test=alpha_test,
        family_size=family,
        power=power,
        planned_weeks=planned,
        sequential_tuning=int(tuning or members),
        arms=tuple(plans),
    )


def render_plan(plan: Plan) -> str:
    """The plan as plain text: assumptions, then one line per arm and number of weeks."""
    lines = [
        f"Plan for {plan.experiment}: primary metric {plan.metric}, {plan.planned_weeks} planned week(s)",
        f"  population: {plan.members:,} members active before the start; pre-period mean "
        f"{plan.control_mean:.2f}, sd {plan.sigma:.2f} per member over {plan.planned_weeks} week(s)",
        f"  CUPED with pre-period spend removes {100 * plan.variance_reduction:.0f}% of the variance",
        f"  alpha {plan.alpha:g} over a family of {plan.family_size} comparison(s) -> "
        f"{plan.alpha_per_test:.4g} per test (two-sided), power {plan.power:g}",
    ]
    sequential = any(a.mde_sequential is not None for a in plan.arms)
    if sequential:
        lines.append(f"  sequential: confidence sequence tuned at {plan.sequential_tuning:,} members")
    header = (
        f"  {'arm':<14}{'weeks':>6}{'n arm':>8}{'n ctrl':>8}{'MDE':>10}{'MDE CUPED':>11}"
        f"{'per week':>10}{'% of mean':>10}"
    )
    if sequential:
        header += f"{'MDE seq':>10}{'seq CUPED':>11}"
    lines.append(header)
    order = {name: i for i, name in enumerate(dict.fromkeys(a.arm for a in plan.arms))}
    for a in sorted(plan.arms, key=lambda a: (order[a.arm], a.weeks)):
        share = 100 * a.mde_cuped / a.mean if a.mean else float("nan")
        row = (
            f"  {a.arm:<14}{a.weeks:>6}{a.n_treatment:>8,}{a.n_control:>8,}{a.mde:>10.2f}{a.mde_cuped:>11.2f}"
            f"{a.mde_cuped / a.weeks:>10.2f}{share:>9.1f}%"
        )
        if a.mde_sequential is not None and a.mde_sequential_cuped is not None:
            row += f"{a.mde_sequential:>10.2f}{a.mde_sequential_cuped:>11.2f}"
        lines.append(row)
    lines.append(
        "  MDE: the smallest true difference per member over that many weeks found with the stated power "
        "(metric units); per week: MDE CUPED / weeks; % of mean: MDE CUPED against that window's mean"
    )
    return "\n".join(lines)
