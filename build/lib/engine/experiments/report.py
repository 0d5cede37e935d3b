"""Writing an analysis out: a Markdown report with one plot, MLflow metrics, and a proposed lift config.

Everything lands in ``<reports_dir>/<experiment>/``: ``report.md``, ``effects.png`` and, when lifts
were measured, ``proposed_lifts.toml``: a lift file (:mod:`engine.rules.lift`, status ``measured``) for
a marketer to review and copy over ``configs/lifts.toml`` (never applied automatically: a measured
lift is evidence, not a decision).
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path
from statistics import NormalDist

from engine.experiments.analysis import AnalysisResult, Comparison, LiftEstimate
from engine.experiments.stats import Estimate
from engine.experiments.verdict import GUARDRAIL_RULE
from engine.lift.files import DEFAULT_LIFT_FILE, read_lift_file, write_lift_file
from engine.rules.lift import ANY_DEPARTMENT, LiftFile
from engine.rules.lift import LiftEstimate as LiftEntry


def _fmt(value: float, digits: int = 2) -> str:
    return (
        "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:,.{digits}f}"
    )


def _pct(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{100 * value:.1f}%"


def _ci(est: Estimate) -> str:
    return f"{est.diff:+,.3f} [{est.ci_low:+,.3f}, {est.ci_high:+,.3f}]"


def render_markdown(
    result: AnalysisResult, extra: dict[str, str] | None = None, appendix: str | None = None
) -> str:
    """The report as Markdown: verdict first, then arms, effects, guardrails, SRM and lifts."""
    level = f"{100 * (1 - result.alpha):.0f}%"
    lines = [f"# Experiment `{result.experiment}`", "", "## Verdict", ""]
    lines += [f"- {v}" for v in result.verdicts]
    if extra:
        lines += ["", "## Run", ""] + [f"- {k}: {v}" for k, v in extra.items()]
    lines += [
        "",
        "## Arms (per member means)",
        "",
        "| arm | policy | members | exposures | challenges | completion rate | spend | gross margin "
        "| reward cost | net profit | opt-out rate |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for a in result.arms:
        lines.append(
            f"| {a.arm} | {a.policy} | {a.members} | {a.exposures} | {a.challenges} "
            f"| {_fmt(a.completion_rate, 3)} "
            f"| {_fmt(a.spend)} | {_fmt(a.gross_margin)} | {_fmt(a.reward_cost)} | {_fmt(a.net_profit)} "
            f"| {_fmt(a.opt_out_rate, 4)} |"
        )
    lines += [
        "",
        f"## Differences vs `{result.control}` ({level} CI)",
        "",
        "Money metrics: Welch t interval; CUPED rows adjust for pre-period spend. Rates: delta method.",
        "",
        f"Adjusted p: {result.correction} correction over the family of one comparison per arm and "
        "metric (CUPED where available); a verdict needs the adjusted p below alpha.",
    ]
    seq_head, seq_rule = "", ""
    if result.sequential:
        lines += [
            "",
            f"Sequential experiment: the verdict and guardrails use the {level} always-valid confidence "
            "sequence (Waudby-Smith et al., as GrowthBook's sequential mode), which stays valid however "
            "often the results are looked at; the adjusted p corrects the always-valid p-values.",
        ]
        seq_head, seq_rule = f" {level} confidence sequence | always-valid p |", "---|---:|"
    lines += [
        "",
        f"| metric | arm | method | difference [CI] | p-value |{seq_head} adjusted p ({result.correction}) "
        "| relative | variance removed |",
        f"|---|---|---|---|---:|{seq_rule}---:|---:|---:|",
    ]
    for c in result.comparisons:
        vr = "" if c.variance_reduction is None else f"{100 * c.variance_reduction:.0f}%"
        adj = "" if c.p_adjusted is None else f"{c.p_adjusted:.3g}"
        seq = ""
        if c.sequential is not None:
            cs = c.sequential
            seq = f" [{cs.ci_low:+,.3f}, {cs.ci_high:+,.3f}] | {cs.p_value:.3g} |"
        lines.append(
            f"| {c.metric} | {c.arm} | {c.method} | {_ci(c.estimate)} | {c.estimate.p_value:.3g} |{seq} "
            f"{adj} | {_pct(c.estimate.relative)} | {vr} |"
        )
    if result.bayes:
        lines += [
            "",
            f"Bayesian reading of `{result.primary_metric}` (flat prior, normal posterior): "
            + "; ".join(
                f"{arm}: {100 * b.chance_to_beat:.1f}% chance to beat {result.control}, expected loss "
                f"{b.expected_loss:.3f} per member if rolled out"
                for arm, b in result.bayes.items()
            )
            + ".",
        ]
    lines += [
        "",
        "## Guardrails",
        "",
        GUARDRAIL_RULE,
        "",
        "| metric | arm | harm [CI] | allowed | status |",
        "|---|---|---|---:|---|",
    ]
    for g in result.guardrails:
        lines.append(
            f"| {g.metric} | {g.arm} | {g.harm:+.4f} [{g.harm_ci_low:+.4f}, {g.harm_ci_high:+.4f}] "
            f"| {g.max_harm} | {g.status}{' (harm shown)' if g.harm_shown else ''} |"
        )
    if result.exposure is not None:
        e = result.exposure
        lines += [
            "",
            "## Exposure when shown",
            "",
            "Members count as exposed once the app reported their challenge (or the no-offer screen) "
            "displayed; fetched but never shown members are left out of every comparison above.",
            "",
            "| arm | fetched | shown | fetched, never shown |",
            "|---|---:|---:|---:|",
        ]
        lines += [f"| {a.arm} | {a.fetched} | {a.shown} | {_pct(a.never_shown_share)} |" for a in e.arms]
        verdict = "DIFFERS by arm: showing depended on the arm" if e.differs_by_arm else "alike across arms"
        lines += [
            "",
            f"Never-shown share {verdict} (chi-square p = {e.p_value:.3g}); displays without a fetch: "
            f"{e.displayed_not_fetched}.",
        ]
    s = result.srm
    lines += [
        "",
        "## Sample ratio",
        "",
        f"Observed members {list(s.observed)}, expected {[round(e, 1) for e in s.expected]}: "
        f"chi2 = {s.chi2:.2f}, p = {s.p_value:.3g} ({'MISMATCH' if s.mismatch else 'ok'}).",
    ]
    if result.lifts:
        lines += [
            "",
            "## Measured pick lifts (offered picks vs the holdout's shadow picks)",
            "",
            "| arm | pick | rate with offer | rate without | absolute lift [CI] | relative lift [CI] "
            "| log odds ratio [CI] |",
            "|---|---|---:|---:|---|---|---|",
        ]
        for lift in result.lifts:
            lo = measured_log_odds(lift, 1.0 - result.alpha)
            log_odds = "n/a" if lo is None else f"{lo[0]:+.3f} [{lo[2]:+.3f}, {lo[3]:+.3f}]"
            lines.append(
                f"| {lift.arm} | {lift.kind} | {lift.rate_offer:.4f} | {lift.rate_base:.4f} "
                f"| {_ci(lift.absolute)} | {_fmt(lift.relative, 3)} [{_fmt(lift.relative_ci_low, 3)}, "
                f"{_fmt(lift.relative_ci_high, 3)}] | {log_odds} |"
            )
    if appendix:
        lines += ["", appendix]
    lines += ["", "![effects](effects.png)", ""]
    return "\n".join(lines)


def plot_effects(result: AnalysisResult, path: Path) -> Path:
    """One PNG: the primary metric's difference vs control per arm with its interval (raw and CUPED)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows: list[Comparison] = [c for c in result.comparisons if c.metric == result.primary_metric]
    fig, ax = plt.subplots(figsize=(7, 1.2 + 0.5 * max(len(rows), 1)))
    labels = [f"{c.arm} ({c.method})" for c in rows]
    level = f"{100 * (1 - result.alpha):.0f}%"

    def bars(estimates: list[Estimate], offset: float, label: str, fmt: str) -> None:
        errors = [[e.diff - e.ci_low for e in estimates], [e.ci_high - e.diff for e in estimates]]
        y = [i + offset for i in range(len(estimates))]
        ax.errorbar([e.diff for e in estimates], y, xerr=errors, fmt=fmt, capsize=4, label=label)

    if result.sequential:
        # The sequence decides; the fixed-horizon CI is drawn beside it for comparison.
        bars([c.decisive for c in rows], 0.0, f"{level} confidence sequence (decides)", "o")
        bars([c.estimate for c in rows], 0.25, f"{level} fixed-horizon CI", "s")
        ax.legend(fontsize="small")
    else:
        bars([c.estimate for c in rows], 0.0, f"{level} CI", "o")
    ax.axvline(0.0, color="grey", linestyle="--", linewidth=1)
    ax.set_yticks(range(len(rows)), labels)
    interval = "confidence sequence" if result.sequential else "CI"
    ax.set_xlabel(f"{result.primary_metric}: difference vs {result.control} ({level} {interval})")
    ax.set_title(result.experiment)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def measured_log_odds(lift: LiftEstimate, confidence: float) -> tuple[float, float, float, float] | None:
    """``(beta, std_error, ci_low, ci_high)`` of one measured pick lift, or None where undefined.

    ``beta = logit(rate_offer) - logit(rate_base)``; its standard error by the delta method,
    ``var(logit r) = var(r) / (r (1 - r))^2``, the two arms independent.
    """
    rt, rc = lift.rate_offer, lift.rate_base
    if not all(0.0 < r < 1.0 for r in (rt, rc)) or not all(
        math.isfinite(v) for v in (lift.rate_offer_se, lift.rate_base_se)
    ):
        return None
    beta = math.log(rt / (1 - rt)) - math.log(rc / (1 - rc))
    se = math.sqrt((lift.rate_offer_se / (rt * (1 - rt))) ** 2 + (lift.rate_base_se / (rc * (1 - rc))) ** 2)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    return beta, se, beta - z * se, beta + z * se


def measured_lift_file(
    result: AnalysisResult, arm: str, base: LiftFile, today: date
) -> tuple[LiftFile, list[str]] | None:
    """``base`` with ``arm``'s measured lifts in place of each measured kind's entries (None: none measured).

    A measured kind's department entries are dropped too: a randomised measurement of the whole
    challenge supersedes observational estimates. Returns the file and one header line per kind.
    """
    confidence = 1.0 - result.alpha
    measured: dict[str, LiftEntry] = {}
    notes: list[str] = []
    for lift in result.lifts:
        if lift.arm != arm:
            continue
        got = measured_log_odds(lift, confidence)
        if got is None:
            notes.append(
                f"{lift.kind}: not measurable (rates {lift.rate_offer:.4f} vs {lift.rate_base:.4f}): kept"
            )
            continue
        beta, se, low, high = got
        measured[lift.kind] = LiftEntry(
            kind=lift.kind,  # type: ignore[arg-type]  # analysis kinds are habitual | stretch
            department=ANY_DEPARTMENT,
            log_odds=round(beta, 4),
            std_error=round(se, 4),
            ci_low=round(low, 4),
            ci_high=round(high, 4),
            confidence=round(confidence, 6),
            n=lift.members,
            status="measured",
            source=f"experiment {result.experiment!r}: arm {arm!r} offered picks vs {result.control!r} "
            "shadow picks (randomised)",
            method="log odds ratio of pick purchase rates, delta-method standard error, members as units",
            estimated_on=today,
        )
        notes.append(
            f"{lift.kind}: MEASURED beta {beta:+.3f} [{low:+.3f}, {high:+.3f}] "
            f"(rates {lift.rate_offer:.4f} vs {lift.rate_base:.4f}, {lift.members:,} members)"
        )
    if not measured:
        return None
    kept = tuple(e for e in base.lift if e.kind not in measured)
    return LiftFile(lift=(*measured.values(), *kept)), notes


def log_to_mlflow(
    result: AnalysisResult, tracking_uri: str, experiment_name: str, files: list[Path], params: dict[str, str]
) -> str:
    """Log the arms' numbers, the differences and the report files to MLflow; returns the run id."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(experiment_name)
    with mlflow.start_run(run_name=result.experiment) as run:
        mlflow.set_tags({"offer_experiment": result.experiment, "control": result.control})
        mlflow.log_params(
            {
                "primary_metric": result.primary_metric,
                "alpha": result.alpha,
                "correction": result.correction,
                **params,
            }
        )
        metrics: dict[str, float] = {"srm_p_value": result.srm.p_value}
        for a in result.arms:
            for key in ("members", "completion_rate", "spend", "gross_margin", "reward_cost", "net_profit"):
                value = float(getattr(a, key))
                if not math.isnan(value):
                    metrics[f"{a.arm}.{key}"] = value
        for c in result.comparisons:
            prefix = f"{c.arm}.{c.metric}.{c.method}"
            metrics |= {f"{prefix}.diff": c.estimate.diff, f"{prefix}.ci_low": c.estimate.ci_low}
            metrics[f"{prefix}.ci_high"] = c.estimate.ci_high
            if c.p_adjusted is not None:
                metrics[f"{prefix}.p_adjusted"] = c.p_adjusted
        mlflow.log_metrics(metrics)
        for path in files:
            mlflow.log_artifact(str(path))
        return str(run.info.run_id)


def write_report(
    result: AnalysisResult,
    directory: Path,
    extra: dict[str, str] | None = None,
    appendix: str | None = None,
    base_lifts: Path = DEFAULT_LIFT_FILE,
    today: date | None = None,
) -> list[Path]:
    """Write ``report.md``, ``effects.png`` and, when lifts were measured, ``proposed_lifts.toml``.

    ``proposed_lifts.toml`` is a complete lift file: ``base_lifts`` with the measured kinds replaced,
    for review (``offers rules preview``) before it replaces ``configs/lifts.toml``.
    """
    directory.mkdir(parents=True, exist_ok=True)
    plot = plot_effects(result, directory / "effects.png")
    report = directory / "report.md"
    report.write_text(render_markdown(result, extra, appendix))
    written = [report, plot]
    treatment = [a.arm for a in result.arms if a.arm != result.control and a.policy == "recommender"]
    today = today or date.today()
    proposed = (
        measured_lift_file(result, treatment[0], read_lift_file(base_lifts), today) if treatment else None
    )
    if proposed is not None:
        lift_file, notes = proposed
        header = [
            f"PROPOSED from experiment {result.experiment!r}, arm {treatment[0]!r}, on {today.isoformat()}: "
            f"review, then copy over {base_lifts.name}",
            f"(`offers rules preview` shows what it changes). Unmeasured kinds are kept from {base_lifts}.",
            *notes,
        ]
        written.append(write_lift_file(lift_file, header, directory / "proposed_lifts.toml"))
    return written
