"""``offers backtest`` end to end: load data and configs, run, track, analyse, write the report."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from engine.backtest.analysis import BarResult, Paired, check_bars, over_cutoffs, paired_table
from engine.backtest.config import POLICIES, BacktestConfig
from engine.backtest.member_analysis import MemberVerdict, member_verdict
from engine.backtest.report import PLOT_METRICS, write_report
from engine.backtest.runner import BacktestResult, run_backtest
from engine.backtest.tracking import backtest_run
from engine.data.config import load_data_config
from engine.data.loaders import load_dataset
from engine.data.schema import Dataset
from engine.data.tiers import load_tiers_config
from engine.rules.config import load_rules
from engine.train.candidates import build_candidates
from engine.train.config import load_train_config


@dataclass(frozen=True)
class BacktestOutcome:
    """What one backtest produced: the measurements, the paired comparisons, the bars, the report."""

    result: BacktestResult
    pairs: list[Paired]
    bars: list[BarResult]
    report: Path
    #: The member-facing comparisons with the raw baselines (None when the model was not run).
    member: MemberVerdict | None = None


def backtest(config: BacktestConfig, *, command: str, dataset: Dataset | None = None) -> BacktestOutcome:
    """Run the configured backtest and write its report under ``config.out_dir``.

    Parameters
    ----------
    config
        The backtest config (cutoffs, windows, policies, other config files, tracking).
    command
        The command line, quoted in the report so a reader can reproduce it.
    dataset
        The data; by default loaded as ``config.data`` says.
    """
    data_config = load_data_config(config.data)
    dataset = load_dataset(data_config) if dataset is None else dataset
    train_config = load_train_config(config.train_config).model_copy(update={"progress": False})
    rules = load_rules(config.rules)
    tiers = load_tiers_config(data_config.tiers)
    params = {
        "cutoffs": ",".join(map(str, config.cutoffs)),
        "windows": ",".join(map(str, config.windows)),
        "policies": ",".join(config.policies),
        "data_source": dataset.source,
    }
    with backtest_run(config.tracking, params) as tracker:
        result = run_backtest(
            dataset,
            config,
            train_config=train_config,
            rules=rules,
            tiers=tiers,
            build_model=lambda data, week: build_candidates(data, week, train_config),
            tracker=tracker,
        )
        baselines = [p for p in POLICIES if p != "model" and p in result.policies]
        pairs = (
            paired_table(result.outcomes, baselines, result.windows, config.stats)
            if "model" in result.policies
            else []
        )
        agg = over_cutoffs(result.summaries, list(PLOT_METRICS))
        bars = check_bars(agg, pairs, config.bars, config.primary_window)
        member = (
            member_verdict(
                result.member_facing,
                result.issuance,
                result.violations,
                config,
                cutoffs=result.cutoffs,
                last_week=result.last_week,
            )
            if "model" in result.policies
            else None
        )
        if member is not None:
            bars = [*bars, *member.bars]
        report = write_report(
            result,
            pairs,
            bars,
            config.out_dir,
            primary_window=config.primary_window,
            confidence=config.stats.confidence,
            command=command,
            source=dataset.source,
            member=member,
        )
        summary = {
            f"{policy}.w{window}.{metric}": float(agg.loc[(window, policy), (metric, "mean")])
            for (window, policy) in agg.index
            for metric in PLOT_METRICS
        }
        if member is not None:
            summary |= _member_summary(member)
        tracker.log_summary(summary, config.out_dir)
    return BacktestOutcome(result=result, pairs=pairs, bars=bars, report=report, member=member)


def _member_summary(member: MemberVerdict) -> dict[str, float]:
    """MLflow metric names ``member.<metric>.{model,raw,ratio}`` and the issuance shares."""
    out: dict[str, float] = {}
    for p in member.pairs:
        out |= {f"member.{p.metric}.model": p.model_mean, f"member.{p.metric}.raw": p.raw_mean}
        out[f"member.{p.metric}.ratio"] = p.ratio if math.isfinite(p.ratio) else math.nan
    out["member.repeat_purchase.model"] = member.repeat[0].value
    out["member.repeat_purchase.raw"] = member.repeat[1].value
    out["member.expected_profit_per_week"] = member.profit.value
    for column in member.shares.columns:
        out[f"member.issued_share_min.{column}"] = float(member.shares[column].min())
    return out
