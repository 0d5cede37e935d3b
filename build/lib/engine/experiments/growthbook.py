"""Our experiments in GrowthBook's formats, so a team that uses GrowthBook can read (and serve) them.

Three documents, each in the shape GrowthBook itself uses:

- :func:`feature_payload`: the SDK payload (``{"features": {...}}``) with one experiment rule. Any
  GrowthBook SDK given attributes ``id`` (the canonical member id), ``week`` and ``tier`` puts each
  member in the same arm as :func:`engine.experiments.assignment.arm_for_member`: same ``seed`` (our
  salt), ``hashVersion``, weights and namespace; the experiment's weeks and tiers become the rule's
  ``condition``. Outside it the value is ``null`` (no experiment: the normal challenge).
- :func:`experiment_document`: the REST API's ``Experiment`` object (``/api/v1/experiments``):
  variations, one phase with its traffic split, namespace and targeting condition, and the analysis
  settings (goal = primary metric, guardrails). GrowthBook phases have calendar dates; ours are
  weeks, so ``dateStarted``/``dateEnded`` hold ``week-<n>``.
- :func:`results_document`: the REST API's ``ExperimentResults`` (``/api/v1/experiments/{id}/results``),
  one dimension ("All"), every metric of the analysis per arm: ``numerator`` (sum), ``denominator``
  (members, or challenges for the completion rate), ``mean``, ``stddev``, and against control
  ``percentChange``, ``ciLow``/``ciHigh`` (relative, like GrowthBook: the absolute interval divided by
  the control mean), ``pValue`` (after the definition's correction when it has one), ``chanceToBeatControl``
  and ``risk`` (expected loss per member) where they were computed.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd

from engine.experiments.analysis import MONEY_METRICS, AnalysisResult, Comparison
from engine.experiments.definition import ExperimentDefinition

#: Attributes the SDK must be given: the member id hashed for assignment, the week and the tier.
HASH_ATTRIBUTE = "id"
WEEK_ATTRIBUTE = "week"
TIER_ATTRIBUTE = "tier"

#: Frame columns behind each metric's per-member values (rates: numerator, denominator).
_PER_MEMBER: dict[str, str] = {
    **MONEY_METRICS,
    "reward_cost_per_member": "reward_cost",
    "opt_out_rate": "opted_out",
}
_RATIO: dict[str, tuple[str, str]] = {"completion_rate": ("completions", "challenges")}


def _condition(definition: ExperimentDefinition) -> dict[str, Any]:
    condition: dict[str, Any] = {WEEK_ATTRIBUTE: {"$gte": definition.start_week, "$lte": definition.end_week}}
    if definition.tiers:
        condition[TIER_ATTRIBUTE] = {"$in": list(definition.tiers)}
    return condition


def _namespace(definition: ExperimentDefinition) -> list[Any] | None:
    ns = definition.namespace
    return None if ns is None else [ns.name, ns.start, ns.end]


def feature_payload(definition: ExperimentDefinition) -> dict[str, Any]:
    """GrowthBook SDK payload: feature ``definition.name`` whose value is the member's arm (or null)."""
    rule: dict[str, Any] = {
        "key": definition.name,
        "name": definition.description or definition.name,
        "seed": definition.salt,
        "hashVersion": definition.hash_version,
        "hashAttribute": HASH_ATTRIBUTE,
        "variations": list(definition.arm_names),
        "weights": list(definition.weights),
        "coverage": 1,
        "condition": _condition(definition),
        "meta": [{"key": a.name, "name": f"{a.name} ({a.policy})"} for a in definition.arms],
        "phase": "0",
    }
    namespace = _namespace(definition)
    if namespace is not None:
        rule["namespace"] = namespace
    return {"features": {definition.name: {"defaultValue": None, "rules": [rule]}}}


def experiment_document(definition: ExperimentDefinition) -> dict[str, Any]:
    """GrowthBook REST ``Experiment`` object of ``definition`` (see the module docstring)."""
    phase: dict[str, Any] = {
        "name": "Main",
        "dateStarted": f"week-{definition.start_week}",
        "dateEnded": f"week-{definition.end_week}",
        "reasonForStopping": "",
        "seed": definition.salt,
        "coverage": 1,
        "trafficSplit": [{"variationId": a.name, "weight": a.weight} for a in definition.arms],
        "targetingCondition": json.dumps(_condition(definition)),
        "savedGroups": [],
    }
    ns = definition.namespace
    if ns is not None:
        phase["namespace"] = {"namespaceId": ns.name, "range": [ns.start, ns.end]}
    return {
        "id": definition.name,
        "trackingKey": definition.name,
        "name": definition.name,
        "project": definition.population,
        "hypothesis": definition.description,
        "description": definition.description,
        "tags": [],
        "owner": "",
        "archived": False,
        "status": "running",
        "autoRefresh": False,
        "hashAttribute": HASH_ATTRIBUTE,
        "hashVersion": definition.hash_version,
        "variations": [
            {"variationId": a.name, "key": a.name, "name": a.name, "description": a.policy, "screenshots": []}
            for a in definition.arms
        ],
        "phases": [phase],
        "settings": {
            "experimentId": definition.name,
            "statsEngine": "frequentist",
            "goals": [{"metricId": definition.primary_metric, "overrides": {}}],
            "guardrails": [{"metricId": g.metric, "overrides": {}} for g in definition.guardrails],
        },
    }


def _finite(value: float) -> float | None:
    """JSON has no NaN: an undefined number is written as null."""
    return None if math.isnan(value) or math.isinf(value) else value


def _arm_stats(rows: pd.DataFrame, metric: str) -> tuple[float, float, float, float] | None:
    """``(numerator, denominator, mean, stddev)`` of ``metric`` over ``rows`` (one arm's members)."""
    if metric in _PER_MEMBER:
        values = rows[_PER_MEMBER[metric]].astype("float64")
        n = float(len(values))
        std = float(values.std(ddof=1)) if len(values) > 1 else float("nan")
        return float(values.sum()), n, float(values.mean()) if n else float("nan"), std
    if metric in _RATIO:
        num, den = (rows[c].astype("float64") for c in _RATIO[metric])
        total = float(den.sum())
        if total == 0:
            return None
        ratio = float(num.sum()) / total
        # Per-challenge standard deviation of a 0/1 outcome at that rate.
        return float(num.sum()), total, ratio, math.sqrt(ratio * (1 - ratio))
    return None


def _analysis(
    comparison: Comparison | None, stats: tuple[float, float, float, float], result: AnalysisResult
) -> dict[str, Any]:
    numerator, denominator, mean, stddev = stats
    out: dict[str, Any] = {
        "engine": "frequentist",
        "numerator": numerator,
        "denominator": denominator,
        "mean": _finite(mean),
        "stddev": _finite(stddev),
        "percentChange": 0.0,
        "ciLow": 0.0,
        "ciHigh": 0.0,
    }
    if comparison is None:
        return out
    est = comparison.decisive
    base = est.control_mean

    def relative(value: float) -> float | None:
        return _finite(value / base) if base else None

    out |= {
        "percentChange": relative(est.diff),
        "ciLow": relative(est.ci_low),
        "ciHigh": relative(est.ci_high),
        "pValue": comparison.p_adjusted if comparison.p_adjusted is not None else est.p_value,
    }
    bayes = result.bayes.get(comparison.arm) if comparison.metric == result.primary_metric else None
    if bayes is not None:
        out |= {"chanceToBeatControl": bayes.chance_to_beat, "risk": bayes.expected_loss}
    return out


def results_document(
    result: AnalysisResult, frame: pd.DataFrame, definition: ExperimentDefinition
) -> dict[str, Any]:
    """GrowthBook REST ``ExperimentResults`` of an analysis of ``frame`` (see the module docstring)."""
    metrics = list(dict.fromkeys(c.metric for c in result.comparisons))
    rows = []
    for metric in metrics:
        variations = []
        for arm in definition.arm_names:
            stats = _arm_stats(frame[frame["arm"] == arm], metric)
            if stats is None:
                continue
            chosen = None
            if arm != result.control:
                chosen = result.comparison(metric, arm)
            members = int((frame["arm"] == arm).sum())
            variations.append(
                {"variationId": arm, "users": members, "analyses": [_analysis(chosen, stats, result)]}
            )
        rows.append({"metricId": metric, "variations": variations})
    return {
        "id": f"{definition.name}-results",
        "dateUpdated": "",
        "experimentId": definition.name,
        "phase": "0",
        "dateStart": f"week-{definition.start_week}",
        "dateEnd": f"week-{definition.end_week}",
        "dimension": {"type": "none"},
        "settings": {
            "experimentId": definition.name,
            "statsEngine": "frequentist",
            "goals": [{"metricId": definition.primary_metric, "overrides": {}}],
            "guardrails": [{"metricId": g.metric, "overrides": {}} for g in definition.guardrails],
        },
        "queryIds": [],
        "results": [
            {
                "dimension": "All",
                "totalUsers": len(frame),
                "checks": {"srm": result.srm.p_value},
                "metrics": rows,
            }
        ],
    }
