"""The two analyst workflows end to end, so the CLI stays a thin shell.

- :func:`analyze_experiment`: events in the store -> analysis -> report files, GrowthBook results JSON
  (+ MLflow run).
- :func:`simulate_experiment`: replay held-out weeks -> analysis -> report with the simulation's
  ground truth next to the estimates (+ MLflow run).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from engine.data.schema import MEMBER_ID, SALES_VALUE, WEEK, Dataset
from engine.experiments.analysis import AnalysisResult, analyze
from engine.experiments.config import ExperimentsConfig, SimulationConfig
from engine.experiments.definition import ExperimentDefinition
from engine.experiments.displays import DisplayLog
from engine.experiments.exposure import with_displays
from engine.experiments.frame import member_frame
from engine.experiments.growthbook import results_document
from engine.experiments.policies import Policy
from engine.experiments.protocol import EventStore
from engine.experiments.report import log_to_mlflow, write_report
from engine.experiments.simulator import SimulationResult, simulate
from engine.experiments.store import SqliteEventStore


@dataclass(frozen=True)
class RunOutput:
    """What a workflow produced: the analysis, the files written and the MLflow run (if logged)."""

    analysis: AnalysisResult
    files: tuple[Path, ...]
    mlflow_run_id: str | None
    simulation: SimulationResult | None = None


def _finish(
    result: AnalysisResult,
    config: ExperimentsConfig,
    out_dir: Path | None,
    log_mlflow: bool,
    params: dict[str, str],
    growthbook: tuple[pd.DataFrame, ExperimentDefinition],
    appendix: str | None = None,
) -> tuple[tuple[Path, ...], str | None]:
    directory = out_dir or config.analysis.reports_dir / result.experiment
    files = write_report(result, directory, extra=params, appendix=appendix)
    # The same results in GrowthBook's REST format, for teams that read experiments there.
    gb_path = directory / "growthbook_results.json"
    gb_path.write_text(json.dumps(results_document(result, *growthbook), indent=2, allow_nan=False) + "\n")
    files.append(gb_path)
    run_id = None
    if log_mlflow:
        uri, name = config.analysis.mlflow_tracking_uri, config.analysis.mlflow_experiment
        run_id = log_to_mlflow(result, uri, name, files, params)
    return tuple(files), run_id


def analyze_experiment(
    definition: ExperimentDefinition,
    store: EventStore,
    dataset: Dataset,
    config: ExperimentsConfig,
    *,
    out_dir: Path | None = None,
    log_mlflow: bool = True,
    displays: DisplayLog | None = None,
) -> RunOutput:
    """Analyse ``definition`` from the events in ``store``; margins and pre-period spend from ``dataset``.

    ``displays`` (needed when the definition counts exposure when shown) holds the app's display reports.
    """
    pre_weeks = config.analysis.pre_period_weeks
    tx = dataset.transactions
    pre = tx[(tx[WEEK] < definition.start_week) & (tx[WEEK] >= definition.start_week - pre_weeks)]
    pre_spend = pre.groupby(pre[MEMBER_ID].astype(str))[SALES_VALUE].sum()
    frame = member_frame(store, definition, dataset.catalog, pre_weeks, pre_spend)
    if displays is not None:
        frame = with_displays(frame, displays.table(), definition)
    result = analyze(frame, definition, config.analysis)
    params = {
        "source": "events",
        "store": store.path,
        "weeks": f"{definition.start_week}-{definition.end_week}",
    }
    files, run_id = _finish(result, config, out_dir, log_mlflow, params, (frame, definition))
    return RunOutput(result, files, run_id)


def simulation_appendix(sim: SimulationResult, response: SimulationConfig) -> str:
    """Markdown: what the simulation injected and whether each interval recovered it."""
    lines = [
        "## Simulation ground truth",
        "",
        f"Replayed weeks {sim.weeks[0]}-{sim.weeks[-1]}; responders buy each unbought pick with extra "
        f"probability lift = {response.lift}; {100 * response.ignore_share:.0f}% of members ignore offers "
        f"(seed {response.seed}).",
        "",
        "| arm | members | injected purchases | true spend effect | true net profit effect |",
        "|---|---:|---:|---:|---:|",
    ]
    for t in sim.truth:
        lines.append(
            f"| {t.arm} | {t.members} | {t.injected_purchases} | {t.spend_effect:+.3f} "
            f"| {t.net_profit_effect:+.3f} |"
        )
    if sim.lifts:
        lines += [
            "",
            "| arm | pick | injected lift | recovered lift [CI] | covered |",
            "|---|---|---:|---|---|",
        ]
        for lift in sim.lifts:
            lines.append(
                f"| {lift.arm} | {lift.kind} | {lift.injected} | {lift.estimate:.3f} "
                f"[{lift.ci_low:.3f}, {lift.ci_high:.3f}] | {'yes' if lift.covered else 'NO'} |"
            )
    lines += ["", "Coverage of the true effects by the intervals (CUPED where available):", ""]
    lines += [f"- {key}: {'yes' if ok else 'NO'}" for key, ok in sim.coverage().items()]
    return "\n".join(lines)


def simulate_experiment(
    definition: ExperimentDefinition,
    dataset: Dataset,
    policies: Mapping[str, Policy],
    weeks: tuple[int, ...],
    config: ExperimentsConfig,
    store_path: Path | str,
    *,
    out_dir: Path | None = None,
    log_mlflow: bool = True,
    labels: Mapping[str, str] | None = None,
) -> RunOutput:
    """Simulate ``definition`` over ``weeks`` of ``dataset`` into a fresh store at ``store_path``.

    ``labels`` are extra run parameters for the report and MLflow (e.g. which recommender was used).
    """
    path = Path(store_path)
    if str(path) != ":memory:":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    # A simulation store is disposable: skip the per-commit fsync.
    with SqliteEventStore(path, synchronous="NORMAL", busy_timeout_s=config.store.busy_timeout_s) as store:
        sim = simulate(dataset, definition, policies, weeks, config.simulation, store, config.analysis)
    params = {
        "source": f"simulation of {dataset.source}",
        "weeks": f"{weeks[0]}-{weeks[-1]}",
        "lift": str(config.simulation.lift),
        "ignore_share": str(config.simulation.ignore_share),
        "policies": ", ".join(sorted(policies)),
        **(labels or {}),
    }
    appendix = simulation_appendix(sim, config.simulation)
    files, run_id = _finish(
        sim.analysis, config, out_dir, log_mlflow, params, (sim.frame, sim.definition), appendix
    )
    return RunOutput(sim.analysis, files, run_id, sim)
