"""From evidence to a lift file: the decision rule, the TOML text, and reading one back.

The rule (:func:`decide`): a pick kind gets the primary method's estimate, status ``estimated``, only
when the estimate's whole interval lies above zero; otherwise it keeps its documented prior, status
``prior``, and the entry's ``method`` says what the evidence showed. A department gets an entry of its
own only when its kind's ``*`` estimate shows a lift and so does the department's own interval (with
some thirty departments, an interval excluding zero by chance is to be expected otherwise).

Every file is validated with :class:`~engine.rules.lift.LiftFile` and read back before it is written.
"""

from __future__ import annotations

import json
import math
import tomllib
from datetime import date
from pathlib import Path
from statistics import NormalDist

from engine.config import parse_config, read_toml
from engine.errors import ConfigError
from engine.lift.config import Prior
from engine.lift.estimate import KINDS, METHOD_LABELS, LiftEvidence, MethodEstimate
from engine.rules.lift import ANY_DEPARTMENT, LiftEstimate, LiftFile, PickKind

#: Decimals the file keeps (rounding is monotone, so an interval still holds its estimate).
DECIMALS = 4
#: The file format's own description, on top of every written file.
FORMAT_HEADER = (
    "# How much an offer raises a pick's purchase probability: logit(p_offer) = logit(p_base) + log_odds\n"
    "# (engine/rules/lift.py). The guards use a conservative quantile of each estimate\n"
    "# (economic_guard.lift_quantile in rules.toml), never the point estimate."
)


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


def _value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ConfigError(f"lift file: cannot write the non-finite number {v}")
        return repr(v)
    if isinstance(v, int | date):
        return str(v) if isinstance(v, int) else v.isoformat()
    return json.dumps(str(v), ensure_ascii=False)  # a JSON string is a valid TOML basic string


def render_lift_file(lift_file: LiftFile, header: list[str]) -> str:
    """The TOML text of ``lift_file``: the format's header, ``header`` lines as comments, the entries."""
    lines = [FORMAT_HEADER, "#", *(f"# {h}" if h else "#" for h in header)]
    for entry in lift_file.lift:
        lines += ["", "[[lift]]"]
        lines += [f"{k} = {_value(v)}" for k, v in entry.model_dump().items()]
    return "\n".join(lines) + "\n"


def parse_lift_text(text: str, source: str) -> LiftFile:
    """A lift file from its TOML text; errors name ``source`` and each bad key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
    return parse_config(data, LiftFile, source)


def read_lift_file(path: Path) -> LiftFile:
    """Read and validate a lift file."""
    return parse_config(read_toml(path), LiftFile, str(path))


def write_lift_file(lift_file: LiftFile, header: list[str], path: Path) -> Path:
    """Validate ``lift_file``, check that its text reads back the same, then write it to ``path``."""
    text = render_lift_file(LiftFile.model_validate(lift_file.model_dump()), header)
    if parse_lift_text(text, str(path)) != lift_file:
        raise ConfigError(f"{path}: the rendered lift file does not read back the same (not written)")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
