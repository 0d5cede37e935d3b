"""From evidence to a lift file: the decision rule, the TOML text, and reading one back.

The rule (:func:`decide`): a pick kind gets the primary method's estimate, status ``estimated``, only
when the estimate's whole interval lies above zero; otherwise it keeps its documented prior, status
``prior``, and the entry's ``method`` says what the evidence showed. A department gets an entry of its
own only when its kind's ``*`` estimate shows a lift and so does the department's own interval (with
some thirty departments, an interval excluding zero by chance is to be expected otherwise).

Reading, rendering and writing the file: :mod:`engine.lift.files`.
"""

from __future__ import annotations

from datetime import date
from statistics import NormalDist

from engine.lift.config import Prior
from engine.lift.estimate import KINDS, METHOD_LABELS, LiftEvidence, MethodEstimate
from engine.rules.lift import ANY_DEPARTMENT, LiftEstimate, LiftFile, PickKind

#: Decimals the file keeps (rounding is monotone, so an interval still holds its estimate).
DECIMALS = 4


def _r(value: float) -> float:
    return round(float(value), DECIMALS)


def prior_entry(kind: PickKind, prior: Prior, confidence: float, evidence_note: str) -> LiftEstimate:
    """The documented prior of ``kind`` as a lift-file entry (interval ``log_odds +- z * std_error``)."""
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    return LiftEstimate(
        kind=kind,
        department=ANY_DEPARTMENT,
        log_odds=_r(prior.log_odds),
        std_error=_r(prior.std_error),
        ci_low=_r(prior.log_odds - z * prior.std_error),
        ci_high=_r(prior.log_odds + z * prior.std_error),
        confidence=confidence,
        n=0,
        status="prior",
        source=prior.source,
        method=f"{prior.method}; {evidence_note}" if evidence_note else prior.method,
        estimated_on=prior.documented_on,
    )


def _summary(e: MethodEstimate | None) -> str:
    if e is None or not e.finite:
        return "no estimate (too little evidence)"
    return f"beta {e.log_odds:+.3f} [{e.ci_low:+.3f}, {e.ci_high:+.3f}] on {e.households:,} households"


def _estimated_entry(e: MethodEstimate, evidence: LiftEvidence, today: date) -> LiftEstimate:
    cfg = evidence.config
    sample = f", a fixed-seed sample of {evidence.households:,} households" if evidence.sampled else ""
    return LiftEstimate(
        kind=e.kind,
        department=e.department,
        log_odds=_r(e.log_odds),
        std_error=_r(e.std_error),
        ci_low=_r(e.ci_low),
        ci_high=_r(e.ci_high),
        confidence=cfg.confidence,
        n=e.households,
        status="estimated",
        source=f"Complete Journey promotions ({evidence.source}): {METHOD_LABELS[e.method]}",
        method=(
            f"{e.method}: log odds ratio, household Poisson bootstrap ({cfg.bootstrap_resamples} resamples, "
            f"seed {cfg.seed}){sample}; observational, see experiments/lift/report.md"
        ),
        estimated_on=today,
    )


def decide(evidence: LiftEvidence, today: date) -> tuple[LiftFile, list[str]]:
    """The lift file the evidence supports, and one sentence per pick kind saying why."""
    cfg = evidence.config
    primary = cfg.primary_method
    entries: list[LiftEstimate] = []
    why: list[str] = []
    for kind in KINDS:
        star = evidence.find(primary, kind)
        if star is not None and star.shows_lift:
            entries.append(_estimated_entry(star, evidence, today))
            depts = [
                e
                for e in evidence.estimates
                if e.method == primary
                and e.kind == kind
                and e.campaign_type == "*"
                and e.department != ANY_DEPARTMENT
                and e.shows_lift
            ]
            entries += [_estimated_entry(e, evidence, today) for e in depts]
            why.append(
                f"{kind}: ESTIMATED from {primary}, {_summary(star)}; "
                f"{len(depts)} department(s) with an interval of their own above zero"
            )
        else:
            note = f"evidence checked {today.isoformat()}: {primary} {_summary(star)}, no lift shown"
            entries.append(prior_entry(kind, cfg.priors[kind], cfg.confidence, note))
            why.append(
                f"{kind}: PRIOR kept: the evidence shows no lift ({primary} {_summary(star)}); challenges "
                "resting on it run as a bounded trial that measures the lift"
            )
    return LiftFile(lift=tuple(entries)), why
