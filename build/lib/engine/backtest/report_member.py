"""The member-facing section of the backtest report: the model against raw baselines, who was issued,
the audit. Markdown lines for :func:`engine.backtest.report.write_report`."""

from __future__ import annotations

import math

import pandas as pd

from engine.backtest.member_analysis import RAW_NAMES, Estimate, MemberVerdict, RawPaired

#: What each compared metric is, in the table's words.
METRIC_NAMES: dict[str, str] = {
    "habitual_hit_rate": "habitual picks bought in the challenge week (per pick)",
    "stretch_adoption": "stretch category adopted in the challenge week",
    "completion_rate": "whole challenge completed with no offer",
    "category_spend": "spend in the stretch category, challenge week + {after} weeks",
}


def _num(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    return f"{value:.4f}" if abs(value) < 10 else f"{value:,.2f}"


def _estimate(e: Estimate, confidence: float) -> str:
    return f"{_num(e.value)} ({confidence:.0%} CI [{_num(e.ci_low)}, {_num(e.ci_high)}], n = {e.n})"


def _comparisons(pairs: list[RawPaired], weeks_after: int, confidence: float) -> list[str]:
    lines = [
        f"| what a member gets | raw baseline | member-weeks | members | model | raw | ratio | model - raw | "
        f"{confidence:.0%} CI |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for p in pairs:
        what = METRIC_NAMES[p.metric].format(after=weeks_after)
        ratio = "n/a" if math.isnan(p.ratio) else f"{p.ratio:.3f}x"
        diff = "n/a" if math.isnan(p.diff) else f"{p.diff:+.4f}"
        lines.append(
            f"| {what} | {RAW_NAMES[p.metric]} | {p.n_pairs} | {p.n_members} | {_num(p.model_mean)} | "
            f"{_num(p.raw_mean)} | {ratio} | {diff} | [{_num(p.ci_low)}, {_num(p.ci_high)}] |"
        )
    return lines


def _by_cutoff(ratios: pd.DataFrame, weeks_after: int) -> list[str]:
    heads = [METRIC_NAMES[m].format(after=weeks_after) for m in ratios.columns]
    lines = ["| cutoff | " + " | ".join(heads) + " |", "|---|" + "---|" * len(heads)]
    for cutoff, row in ratios.iterrows():
        cells = ["n/a" if math.isnan(v) else f"{v:.3f}x" for v in row.tolist()]
        lines.append(f"| {cutoff} | " + " | ".join(cells) + " |")
    return lines


def _shares(shares: pd.DataFrame, active_weeks: int) -> list[str]:
    columns = [c for c in shares.columns if c not in ("rich", "active")]
    heads = [*columns, "rich tiers", f"active in last {active_weeks} weeks"]
    lines = ["| cutoff | " + " | ".join(heads) + " |", "|---|" + "---|" * len(heads)]
    for cutoff, row in shares.iterrows():
        cells = ["n/a" if math.isnan(row[c]) else f"{row[c]:.1%}" for c in [*columns, "rich", "active"]]
        lines.append(f"| {cutoff} | " + " | ".join(cells) + " |")
    return lines


def _violations(violations: pd.DataFrame) -> list[str]:
    if violations.empty:
        return ["Every issued challenge of every policy passes the re-check."]
    counts = violations.groupby(["policy", "rule"]).size()
    lines = ["| policy | rule | issued challenges | example |", "|---|---|---|---|"]
    for (policy, rule), n in counts.items():
        example = violations[(violations["policy"] == policy) & (violations["rule"] == rule)].iloc[0]
        lines.append(f"| {policy} | {rule} | {n} | member {example['member_id']}: {example['detail']} |")
    return lines


def member_section(verdict: MemberVerdict, violations: pd.DataFrame, confidence: float) -> list[str]:
    """The section's Markdown lines (the bars themselves are in the report's verdict table)."""
    short = (
        f"Cutoffs {verdict.short_horizon} are left out of the spend and repeat numbers: weeks c .. "
        f"c + {verdict.weeks_after} run past the data's last week, and a truncated horizon would not be "
        "comparable."
        if verdict.short_horizon
        else f"Every cutoff's horizon (challenge week + {verdict.weeks_after}) lies inside the data."
    )
    model_repeat, raw_repeat = verdict.repeat
    return [
        "## Member-facing: the model's challenges against raw baselines (no rules)",
        "",
        "- Over every challenge the model issued (whether or not the member shopped that week), against",
        "  the *raw baseline challenge* of the same member, built from the transactions before the cutoff",
        "  without any rule: the member's two most-bought products (most baskets; ties: later last week,",
        "  then item id) and the most popular category the member never bought (in no week before the",
        f"  cutoff). Popularity = share of the shoppers of the {verdict.popularity_weeks} weeks before the "
        "cutoff (members with a purchase then) who bought in the category in those weeks.",
        "- The stretch pick is a category: any product of it counts; the suggested product is a hint.",
        "  Completion = both habitual products and any product of the stretch category in the challenge",
        "  week; no offer was shown, so this is natural completion.",
        "- Pairs: member-weeks where both challenges have the picks the metric needs; CI: bootstrap",
        "  resampling members with all their cutoffs. Ratios are of the pooled means.",
        f"- {short}",
        "",
        *_comparisons(verdict.pairs, verdict.weeks_after, confidence),
        "",
        "Model / raw per cutoff (n/a: not measured, e.g. a horizon past the data):",
        "",
        *_by_cutoff(verdict.by_cutoff, verdict.weeks_after),
        "",
        "Informational, not a bar: the same comparisons over the members who bought anything in the "
        "challenge week (the scope of the same-rules tables below, which conditions on that week):",
        "",
        *_comparisons(verdict.shopped_pairs, verdict.weeks_after, confidence),
        "",
        f"Share of adopters (bought in the stretch category in the challenge week) who buy in it again in "
        f"the {verdict.weeks_after} weeks after: model {_estimate(model_repeat, confidence)}; raw "
        f"{_estimate(raw_repeat, confidence)}.",
        "",
        f"Expected incremental profit of the issued challenges per week (sum of `expected_profit`, as the "
        f"rules price it): {_estimate(verdict.profit, confidence)}; n counts issued challenges over all "
        "cutoffs.",
        "",
        f"### Who was issued (share of the members of each tier in the batch; active = any purchase in the "
        f"{verdict.active_weeks} weeks before the cutoff)",
        "",
        *_shares(verdict.shares, verdict.active_weeks),
        "",
        "### Re-check of every issued challenge (hard guard and exclusions)",
        "",
        *_violations(violations),
        "",
    ]
