"""The A/A report: false-positive rates of the naive daily peek vs the confidence sequence, with a plot."""

from __future__ import annotations

from pathlib import Path

from scipy import stats

from engine.experiments.aa import AAResult


def render_aa_markdown(result: AAResult, source: str, first_week: int, weeks: int, command: str) -> str:
    """Markdown: what was simulated, the three false-positive rates and how to read them."""
    level = 100 * result.alpha

    def rate(value: float) -> str:
        return f"{100 * value:.2f}% (Monte Carlo s.e. {100 * result.monte_carlo_se(value):.2f} points)"

    lines = [
        "# A/A experiments: false-positive rate with daily looks",
        "",
        f"`{command}`",
        "",
        f"- data: {source}, weeks {first_week}-{first_week + weeks - 1} ({result.looks} daily looks)",
        f"- {result.runs:,} A/A runs: random 50/50 splits of the {result.members:,} real members who shop in "
        "the window; each enters on the day of their first purchase there (triggered exposure)",
        "- outcome: the member's real spend from the window's start to the look's day (no treatment: "
        "any difference is chance)",
        f"- nominal false-positive rate alpha = {level:.0f}%; confidence-sequence tuning size "
        f"{result.tuning_n:,} members (the sample size at the last look)",
        "",
        "| procedure | runs declaring a difference (false positives) |",
        "|---|---:|",
        f"| fixed-horizon Welch test, one look at the planned end | {rate(result.final_look_only)} |",
        f"| same test, looked at every day, stop at the first significant look | {rate(result.naive)} |",
        f"| sequential: {100 - level:.0f}% confidence sequence, looked at every day | "
        f"{rate(result.sequential)} |",
        f"| group-sequential: alpha spent evenly over the {result.looks} planned daily looks | "
        f"{rate(result.group)} |",
        "",
        "Reading: the one-look test holds its nominal rate, which checks the set-up; peeking at it every "
        f"day inflates the error rate to {100 * result.naive:.1f}%. The confidence sequence "
        "(Waudby-Smith et al.; GrowthBook's sequential mode) keeps the rate at or below the nominal "
        f"{level:.0f}% however often it is looked at: it spends alpha over an unlimited horizon, so over "
        f"{result.looks} looks it is conservative ({100 * result.sequential:.1f}%), the price of being "
        "allowed to stop at any look. When the looks are planned, the group-sequential boundaries "
        "(Lan-DeMets linear spending over the planned looks, the looks' correlation estimated from the "
        f"members' spend paths) spend the whole alpha: {100 * result.group:.1f}%. Their z boundaries "
        f"run from {result.group_bounds[0]:.2f} at the first look to {result.group_bounds[-1]:.2f} at "
        f"the last (one look alone: {float(stats.norm.ppf(1 - result.alpha / 2)):.2f}).",
        "",
        "![false positives by look](aa.png)",
        "",
    ]
    return "\n".join(lines)


def plot_aa(result: AAResult, path: Path) -> Path:
    """One PNG: share of runs that have declared a (false) difference by each look, both procedures."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    looks = range(1, result.looks + 1)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(looks, 100 * result.naive_by_look, marker="o", label="fixed-horizon test, daily peeks")
    ax.plot(looks, 100 * result.sequential_by_look, marker="s", label="confidence sequence, daily looks")
    ax.plot(looks, 100 * result.group_by_look, marker="^", label="group-sequential, planned daily looks")
    ax.axhline(100 * result.alpha, color="grey", linestyle="--", linewidth=1, label="nominal alpha")
    ax.set_xlabel("daily look")
    ax.set_ylabel("A/A runs with a false positive so far (%)")
    ax.set_title(f"{result.runs:,} A/A experiments on {result.members:,} real members")
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_aa_report(
    result: AAResult, directory: Path, source: str, first_week: int, weeks: int, command: str
) -> list[Path]:
    """Write ``report.md`` and ``aa.png`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    plot = plot_aa(result, directory / "aa.png")
    report = directory / "report.md"
    report.write_text(render_aa_markdown(result, source, first_week, weeks, command))
    return [report, plot]
