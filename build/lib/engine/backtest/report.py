"""The backtest report: Markdown with PNG plots, written where a reader finds it (experiments/backtest/).

The verdict on the issue's bars comes first and says PASS or FAIL plainly, followed by one informational
line on the stretch ranking alone (model vs popular before the rules; not a bar); then the tables
(mean +- sd over cutoffs per policy, paired model-vs-baseline differences with confidence intervals,
coverage and why members got no offer) and the plots. ``summaries.csv`` carries every number per cutoff.
Hand-written notes in ``<out_dir>/tuning.md`` (what was tried, on which weeks) are copied in after the
verdict, so that a regenerated report keeps them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display; must precede pyplot
import matplotlib.pyplot as plt
import pandas as pd

from engine.backtest.analysis import BarResult, Paired, over_cutoffs, ranking_note
from engine.backtest.config import HABITUAL_BASELINES, STRETCH_BASELINES
from engine.backtest.member_analysis import MemberVerdict
from engine.backtest.report_member import member_section
from engine.backtest.runner import BacktestResult

#: Hand-written notes in the report folder, copied into the report after the verdict when present.
TUNING_NOTES = "tuning.md"

#: Columns of the per-policy tables, with their headings.
TABLE_METRICS: dict[str, str] = {
    "coverage": "coverage",
    "habitual_hit_rate": "habitual hit/pick",
    "habitual_both_rate": "both habitual",
    "stretch_adoption": "stretch adoption",
    "stretch_top1_adoption": "stretch top-1, before rules",
    "stretch_value": "stretch margin/member",
    "stretch_product_hit": "stretch product",
    "completion_rate": "completion",
    "p_complete": "exp. P(complete), offer",
    "expected_cost": "exp. cost/offer",
    "realised_reward_cost": "realised cost/offer",
    "expected_profit": "exp. profit/offer",
    "incremental_profit": "est. incr. profit/offer",
    "stretch_distinct": "distinct stretch cats",
    "stretch_gini": "stretch Gini",
}
PLOT_METRICS: tuple[str, ...] = ("habitual_hit_rate", "stretch_adoption", "stretch_value", "completion_rate")


def _fmt(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    return f"{value:.4f}" if abs(value) < 10 else f"{value:.1f}"


def _mean_sd(mean: float, sd: float) -> str:
    if math.isnan(sd):
        return f"{_fmt(mean)} ± n/a"
    digits = 4 if abs(mean) < 10 else 1  # counts read better without four decimals
    return f"{mean:.{digits}f} ± {sd:.{digits}f}"


def _policy_table(agg: pd.DataFrame, window: int, policies: Sequence[str]) -> list[str]:
    metrics = [m for m in TABLE_METRICS if (m, "mean") in agg.columns]
    lines = [
        "| policy | " + " | ".join(TABLE_METRICS[m] for m in metrics) + " |",
        "|---|" + "---|" * len(metrics),
    ]
    for policy in policies:
        if (window, policy) not in agg.index:
            continue
        row = agg.loc[(window, policy)]
        cells = [_mean_sd(row[(m, "mean")], row[(m, "sd")]) for m in metrics]
        lines.append(f"| {policy} | " + " | ".join(cells) + " |")
    return lines


def _paired_table(pairs: Sequence[Paired], window: int, confidence: float) -> list[str]:
    lines = [
        f"| baseline | metric | member-weeks | members | model | baseline | model - baseline | "
        f"{confidence:.0%} CI | CI excludes 0 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for p in pairs:
        if p.window != window:
            continue
        lines.append(
            f"| {p.baseline} | {p.metric} | {p.n_pairs} | {p.n_members} | {_fmt(p.model_mean)} | "
            f"{_fmt(p.baseline_mean)} | {p.diff:+.4f} | [{p.ci_low:+.4f}, {p.ci_high:+.4f}] | "
            f"{'yes' if p.excludes_zero else 'no'} |"
        )
    return lines


def _verdict(bars: Sequence[BarResult]) -> list[str]:
    lines = ["| bar | requirement | measured | result |", "|---|---|---|---|"]
    for bar in bars:
        result = "NOT RUN" if bar.passed is None else ("**PASS**" if bar.passed else "**FAIL**")
        lines.append(f"| {bar.name} | {bar.requirement} | {bar.measured} | {result} |")
    return lines


def _reasons_table(result: BacktestResult, window: int) -> list[str]:
    reasons = result.reasons[result.reasons["window"] == window]
    scope = result.summaries[result.summaries["window"] == window].groupby("policy")["n_scope"].sum()
    if reasons.empty:
        return ["Every member in scope got an offer."]
    counts = reasons.pivot_table(
        index="reason", columns="policy", values="members", aggfunc="sum", fill_value=0
    )
    counts = counts.reindex(columns=[p for p in result.policies if p in counts.columns])
    lines = [
        "| reason | " + " | ".join(counts.columns) + " |",
        "|---|" + "---|" * len(counts.columns),
    ]
    for reason, row in counts.iterrows():
        cells = [f"{int(row[p])} ({row[p] / scope[p]:.1%})" for p in counts.columns]
        lines.append(f"| {reason} | " + " | ".join(cells) + " |")
    return lines


def _bar_plot(agg: pd.DataFrame, window: int, policies: Sequence[str], path: Path) -> None:
    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    shown = [p for p in policies if (window, p) in agg.index]
    for ax, metric in zip(axes.flat, PLOT_METRICS, strict=True):
        means = [agg.loc[(window, p), (metric, "mean")] for p in shown]
        sds = [agg.loc[(window, p), (metric, "sd")] for p in shown]
        colors = [_color(p) for p in shown]
        ax.bar(shown, means, yerr=[0 if math.isnan(s) else s for s in sds], color=colors, capsize=3)
        ax.set_title(metric.replace("_", " "))
        ax.tick_params(axis="x", rotation=30)
    fig.suptitle(f"Mean over cutoffs ± sd, {window}-week window (issued challenges)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


#: One colour per policy; red is the model's alone.
POLICY_COLORS: dict[str, str] = {
    "model": "tab:red",
    "topfreq": "tab:blue",
    "decayed": "tab:cyan",
    "popular": "tab:green",
    "cooc": "tab:olive",
    "random": "tab:gray",
}


def _color(policy: str) -> str:
    return POLICY_COLORS.get(policy, "tab:purple")


def _cutoff_plot(result: BacktestResult, window: int, path: Path) -> None:
    rows = result.summaries[result.summaries["window"] == window]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, metric in zip(axes, ("habitual_hit_rate", "stretch_adoption"), strict=True):
        for policy in result.policies:
            line = rows[rows["policy"] == policy].sort_values("cutoff")
            width = 2.5 if policy == "model" else 1.0
            ax.plot(
                line["cutoff"], line[metric], marker="o", label=policy, color=_color(policy), linewidth=width
            )
        ax.set_xticks(result.cutoffs)
        ax.set_xlabel("cutoff week")
        ax.set_title(metric.replace("_", " "))
    axes[0].legend(fontsize=8)
    fig.suptitle(f"Per cutoff, {window}-week window")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


#: Panels of the paired plot: each metric against the baselines that compete on it.
PAIRED_PANELS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("habitual picks", ("habitual_hit_rate", "habitual_both_rate"), HABITUAL_BASELINES),
    ("stretch adoption", ("stretch_adoption",), STRETCH_BASELINES),
    ("stretch margin per member", ("stretch_value",), STRETCH_BASELINES),
)


def _paired_plot(pairs: Sequence[Paired], window: int, path: Path) -> None:
    fig, axes = plt.subplots(1, len(PAIRED_PANELS), figsize=(13, 3.8))
    for ax, (title, metrics, baselines) in zip(axes, PAIRED_PANELS, strict=True):
        shown = [
            p
            for p in pairs
            if p.window == window
            and p.metric in metrics
            and p.baseline in baselines
            and not math.isnan(p.diff)
        ]
        y = list(range(len(shown)))
        ax.errorbar(
            [p.diff for p in shown],
            y,
            xerr=[[p.diff - p.ci_low for p in shown], [p.ci_high - p.diff for p in shown]],
            fmt="o",
            color="tab:red",
            capsize=3,
        )
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_yticks(y, [f"{p.metric}\nvs {p.baseline}" for p in shown], fontsize=7)
        ax.set_ylim(-0.5, max(len(shown) - 0.5, 0.5))
        ax.invert_yaxis()
        ax.set_title(title)
        ax.set_xlabel("model - baseline (bootstrap CI)")
    fig.suptitle(f"Paired per-member differences, {window}-week window")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(
    result: BacktestResult,
    pairs: Sequence[Paired],
    bars: Sequence[BarResult],
    out_dir: Path,
    *,
    primary_window: int,
    confidence: float,
    command: str,
    source: str,
    member: MemberVerdict | None = None,
) -> Path:
    """Write ``report.md``, the PNG plots and ``summaries.csv`` under ``out_dir``; returns the report path.

    With ``member`` (the model was run), the member-facing section follows the verdict and
    ``member_facing.csv`` and ``issuance.csv`` carry its numbers per member-week and per cutoff.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    metrics = [m for m in TABLE_METRICS if m in result.summaries.columns]
    agg = over_cutoffs(result.summaries, metrics + [m for m in PLOT_METRICS if m not in metrics])
    result.summaries.to_csv(out_dir / "summaries.csv", index=False)
    facing: list[str] = []
    if member is not None:
        facing = member_section(member, result.violations, confidence)
        result.member_facing.to_csv(out_dir / "member_facing.csv", index=False)
        result.issuance.to_csv(out_dir / "issuance.csv", index=False)
    failed = [b.name for b in bars if b.passed is False]
    lines = [
        "# Backtest: the trained recommender against simple baselines",
        "",
        f"Command: `{command}`  ",
        f"Data: {source}; cutoffs {result.cutoffs}; windows {result.windows} week(s); "
        f"MLflow parent run: {result.run_id or 'not tracked'}.",
        "",
        f"## Verdict ({primary_window}-week window, mean over cutoffs)",
        "",
        *_verdict(bars),
        "",
        (
            "**The model misses: " + ", ".join(failed) + ".**"
            if failed
            else "**The model passes every bar that was run.**"
        ),
        "",
        ranking_note(agg, primary_window),
        "",
        *facing,
        *_tuning_notes(out_dir / TUNING_NOTES),
        "## Protocol",
        "",
        "- Global temporal split: for each cutoff c the model and the baselines are built on weeks < c",
        "  only, challenges are issued for week c through the same rules (configs/rules.toml), and measured",
        "  on weeks c .. c + window - 1. Ranking uses each policy's full candidate lists (no sampled",
        "  negatives).",
        "- Members in scope: bought before c and seen in the window. Rates are over issued challenges;",
        "  coverage and the reasons for no offer are reported separately.",
        "- Habitual baselines keep the model's stretch list and stretch baselines keep the model's habitual",
        "  list, so each comparison isolates one kind of pick. Value-weighted adoption is judged against the",
        "  stretch baselines (the habitual baselines offer the model's own stretch categories).",
        "- Paired comparisons: per-member differences on members both policies made an offer to, with a",
        "  bootstrap that resamples members (all their cutoffs together).",
        "- Money: expected cost = reward x P(complete | offer) from the rules; realised cost = reward paid",
        "  for challenges completed in the window with no offer shown (the subsidy for purchases that happen",
        "  anyway); estimated incremental profit = the rules' assumed incremental margin - realised cost.",
        "- Stretch top-1, before rules: over members in scope with at least one stretch candidate, the share",
        "  buying in the category of their rank-1 candidate. It measures the ranking alone, before the rules",
        "  pick by margin x probability among the first eligible candidates; it is not a bar. The habitual",
        "  baselines keep the model's stretch list, so they show the model's value.",
        "",
    ]
    for window in result.windows:
        lines += [
            f"## Metrics per policy, {window}-week window (mean ± sd over cutoffs)",
            "",
            *_policy_table(agg, window, result.policies),
            "",
            f"![metrics]({_plot('metrics', window)})",
            "",
            f"### Paired comparison with each baseline, {window}-week window",
            "",
            *_paired_table(pairs, window, confidence),
            "",
        ]
        _bar_plot(agg, window, result.policies, out_dir / _plot("metrics", window))
    lines += [
        f"## Per cutoff, {primary_window}-week window",
        "",
        f"![per cutoff]({_plot('by_cutoff', primary_window)})",
        "",
        f"![paired]({_plot('paired', primary_window)})",
        "",
        f"## Coverage: members in scope without an offer, {primary_window}-week window (summed over cutoffs)",
        "",
        *_reasons_table(result, primary_window),
        "",
    ]
    _cutoff_plot(result, primary_window, out_dir / _plot("by_cutoff", primary_window))
    _paired_plot(pairs, primary_window, out_dir / _plot("paired", primary_window))
    path = out_dir / "report.md"
    path.write_text("\n".join(lines))
    return path


def _tuning_notes(path: Path) -> list[str]:
    """The notes file's lines under a heading naming it, or nothing when there is no such file."""
    if not path.is_file():
        return []
    text = path.read_text(encoding="utf-8").strip()
    return [f"## What was tried (from `{path.name}`, written by hand)", "", *text.splitlines(), ""]


def _plot(kind: str, window: int) -> str:
    return f"{kind}_w{window}.png"
