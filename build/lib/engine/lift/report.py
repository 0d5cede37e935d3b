"""The lift report: method, assumptions, every estimate with its interval, the decision, one plot."""

from __future__ import annotations

import math
from pathlib import Path

from engine.lift.campaigns import __doc__ as CAMPAIGN_DOC
from engine.lift.estimate import METHOD_LABELS, LiftEvidence, MethodEstimate
from engine.lift.promos import __doc__ as PROMO_DOC
from engine.rules.lift import ANY_DEPARTMENT, LiftFile

PLOT_NAME = "lift_estimates.png"


def _num(v: float, fmt: str = "+.3f") -> str:
    return "n/a" if not math.isfinite(v) else format(v, fmt)


def _verdict(e: MethodEstimate) -> str:
    if not e.finite:
        return "no estimate"
    if e.ci_low > 0:
        return "lift"
    if e.ci_high < 0:
        return "harm"
    return "no lift shown"


def _row(e: MethodEstimate) -> str:
    ratio = math.exp(e.log_odds) if math.isfinite(e.log_odds) else float("nan")
    return (
        f"| {e.method} | {e.kind} | {e.department} | {e.campaign_type} | {_num(e.log_odds)} "
        f"| [{_num(e.ci_low)}, {_num(e.ci_high)}] | {_num(e.std_error, '.3f')} | {_num(ratio, '.2f')} "
        f"| {e.households:,} | {e.treated_households:,} | {_verdict(e)} |"
    )


def _reading(evidence: LiftEvidence) -> list[str]:
    out = []
    for e in evidence.estimates:
        if e.department != ANY_DEPARTMENT or e.campaign_type != "*":
            continue
        by_type = [
            f"type {t.campaign_type} {_verdict(t)} ({_num(t.log_odds)})"
            for t in evidence.estimates
            if (t.method, t.kind, t.department) == (e.method, e.kind, ANY_DEPARTMENT)
            and t.campaign_type != "*"
        ]
        out.append(
            f"- `{e.method}`, {e.kind}: {_verdict(e)}, beta {_num(e.log_odds)} "
            f"[{_num(e.ci_low)}, {_num(e.ci_high)}] on {e.households:,} households"
            + (" (the file's source)" if e.method == evidence.config.primary_method else "")
            + (f"; by campaign type: {', '.join(by_type)}" if by_type else "")
        )
    return out


def _doc_body(doc: str | None) -> list[str]:
    return [] if doc is None else [line.strip() for line in doc.strip().splitlines()[2:]]


def render_report(
    evidence: LiftEvidence, lift_file: LiftFile, decisions: list[str], command: str, out: Path
) -> str:
    """The report as Markdown."""
    cfg = evidence.config
    level = f"{100 * cfg.confidence:.0f}%"
    sample = (
        f"a fixed-seed sample (seed {cfg.seed}) of {evidence.households:,} households"
        if evidence.sampled
        else f"all {evidence.households:,} households"
    )
    lines = [
        "# Offer lift from Complete Journey's own promotions",
        "",
        f"Made by `{command}` from `{evidence.source}` on {sample}; the lift file it wrote is `{out}`.",
        "",
        "## Decision",
        "",
        *(f"- {d}" for d in decisions),
        "",
        "Where a kind keeps its prior, the number is an **assumption, not a measurement**: challenges "
        "resting on it run as a bounded trial (a test budget, `budget.weekly_trial_cost` in the rules, "
        "and the experiment's holdout), and `offers experiment analyze` measures the lift and writes it "
        'in this same file format (`status = "measured"`) for review with `offers rules preview`.',
        "",
        "## Reading",
        "",
        *_reading(evidence),
        "",
        "A negative campaign estimate need not mean that coupons deter: campaigns are targeted (type A "
        "goes to heavy shoppers, who have fewer categories left to adopt), so the comparison households' "
        "trend may not be the recipients' (the parallel-trends assumption fails); "
        "`campaign_targeted_alike` checks this with comparison households that other campaigns targeted. "
        "Either way it is no evidence of lift. A lift in one campaign type alone, on a few campaigns, is "
        "a lead for an experiment, not an estimate for every challenge. "
        "The promotions estimate bundles a price cut with shelf and flyer placement on "
        "the retailer's own calendar: an upper reference for what an offer can do, not a loyalty "
        "reward's effect.",
        "",
        "## Model",
        "",
        "`logit(p_offer) = logit(p_base) + beta`, `beta` a log odds ratio per pick kind (habitual: a product "
        f"the household already buys, in at least {cfg.habitual_min_weeks} distinct weeks; stretch: a "
        "first purchase in a never-bought category) and, where at least "
        f"{cfg.min_department_households} treated households support it, per department. Intervals: "
        f"{level} percentile intervals of a household Poisson bootstrap ({cfg.bootstrap_resamples} "
        "resamples): a household's purchases stay together.",
        "",
        "## Methods and their assumptions (observational data: none of these is an experiment)",
        "",
        *(f"- `{m}`: {label}" for m, label in METHOD_LABELS.items()),
        "",
        "### Campaign coupons (campaign_*)",
        "",
        *_doc_body(CAMPAIGN_DOC),
        "",
        "`campaign_specific` keeps coupons covering at most "
        f"{cfg.campaigns.max_products_per_coupon} products: a coupon valid on thousands of products says "
        "nothing about any one of them. `campaign_redeemers` "
        "compares only recipients who redeemed a coupon: redeeming is buying, so it is an upper bound, "
        "never the file's source.",
        "",
        "### In-store display and mailer (promotions)",
        "",
        *_doc_body(PROMO_DOC),
        "",
        "## Estimates",
        "",
        "`type` is the campaign type (A, B, C) or `*` for all; `households` have any unit of evidence, "
        "`treated` of them got the offer (received the campaign / had a promoted week).",
        "",
        f"| method | kind | department | type | beta | {level} CI | SE | odds ratio | households | treated "
        "| verdict |",
        "|---|---|---|---|---:|---|---:|---:|---:|---:|---|",
        *(_row(e) for e in evidence.estimates if e.department == ANY_DEPARTMENT),
        "",
        "### Per department (every type pooled)",
        "",
        f"| method | kind | department | type | beta | {level} CI | SE | odds ratio | households | treated "
        "| verdict |",
        "|---|---|---|---|---:|---|---:|---:|---:|---:|---|",
        *(_row(e) for e in evidence.estimates if e.department != ANY_DEPARTMENT),
        "",
        "## The lift file written",
        "",
        "| kind | department | status | log_odds | CI | n |",
        "|---|---|---|---:|---|---:|",
        *(
            f"| {e.kind} | {e.department} | {e.status} | {e.log_odds:+.3f} "
            f"| [{e.ci_low:+.3f}, {e.ci_high:+.3f}] | {e.n:,} |"
            for e in lift_file.lift
        ),
        "",
        "## Data notes",
        "",
        *(f"- {n}" for n in evidence.notes),
        "",
        f"![estimates]({PLOT_NAME})",
        "",
    ]
    return "\n".join(lines)


def plot_estimates(evidence: LiftEvidence, lift_file: LiftFile, path: Path) -> Path:
    """One PNG: every method's ``*`` estimate per kind and campaign type with its interval, and the file's."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [e for e in evidence.estimates if e.department == ANY_DEPARTMENT and e.finite]
    labels = [
        f"{e.kind} · {e.method}" + ("" if e.campaign_type == "*" else f" (type {e.campaign_type})")
        for e in rows
    ]
    fig, ax = plt.subplots(figsize=(8.5, 1.5 + 0.32 * (len(rows) + len(lift_file.lift))))
    colours = {"habitual": "tab:blue", "stretch": "tab:orange"}
    for i, e in enumerate(rows):
        ax.errorbar(
            e.log_odds,
            i,
            xerr=[[e.log_odds - e.ci_low], [e.ci_high - e.log_odds]],
            fmt="o",
            capsize=3,
            color=colours[e.kind],
        )
    file_rows = [e for e in lift_file.lift if e.department == ANY_DEPARTMENT]
    for j, f in enumerate(file_rows):
        y = len(rows) + j
        ax.errorbar(
            f.log_odds,
            y,
            xerr=[[f.log_odds - f.ci_low], [f.ci_high - f.log_odds]],
            fmt="s",
            capsize=3,
            color=colours[f.kind],
            mfc="white",
        )
        labels.append(f"{f.kind} · LIFT FILE ({f.status})")
    ax.axvline(0.0, color="grey", linestyle="--", linewidth=1)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(
        f"beta = log odds ratio of buying with the offer ({100 * evidence.config.confidence:.0f}% CI)"
    )
    ax.set_title("Offer lift: evidence per method and what the lift file keeps")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_report(
    evidence: LiftEvidence,
    lift_file: LiftFile,
    decisions: list[str],
    command: str,
    out: Path,
    directory: Path,
) -> list[Path]:
    """Write ``report.md`` and the plot to ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    plot = plot_estimates(evidence, lift_file, directory / PLOT_NAME)
    report = directory / "report.md"
    report.write_text(render_report(evidence, lift_file, decisions, command, out))
    return [report, plot]
