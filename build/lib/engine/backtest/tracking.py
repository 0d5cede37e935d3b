"""MLflow for the backtest, kept in this one module: one parent run, one child run per cutoff.

The runner talks to :class:`BacktestTracker` only, so a run with tracking disabled (tests, quick looks)
uses :class:`NullTracker` and never imports MLflow.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from engine.backtest.config import Tracking


class BacktestTracker(Protocol):
    """What the runner records: per-cutoff metrics, then the summary and the report."""

    def log_cutoff(self, cutoff: int, params: Mapping[str, Any], metrics: Mapping[str, float]) -> None:
        """Record one cutoff as a child run."""

    def log_summary(self, metrics: Mapping[str, float], report_dir: Path | None) -> None:
        """Record means over cutoffs (and the report folder as artifacts) on the parent run."""

    @property
    def run_id(self) -> str | None:
        """The parent run id, when there is one."""


class NullTracker:
    """Records nothing (tracking disabled)."""

    def log_cutoff(self, cutoff: int, params: Mapping[str, Any], metrics: Mapping[str, float]) -> None:
        """Do nothing."""

    def log_summary(self, metrics: Mapping[str, float], report_dir: Path | None) -> None:
        """Do nothing."""

    @property
    def run_id(self) -> str | None:
        """No run."""
        return None


def _finite(metrics: Mapping[str, float]) -> dict[str, float]:
    # MLflow stores NaN, but a metric that could not be computed is clearer left out
    return {k: float(v) for k, v in metrics.items() if not math.isnan(float(v))}


class MlflowTracker:
    """Logs into an already started parent run; each cutoff becomes a nested child run."""

    def __init__(self, run_id: str) -> None:
        self._run_id = run_id

    @property
    def run_id(self) -> str | None:
        """The parent run id."""
        return self._run_id

    def log_cutoff(self, cutoff: int, params: Mapping[str, Any], metrics: Mapping[str, float]) -> None:
        """One nested run named ``cutoff-<week>`` with its params and metrics."""
        import mlflow

        with mlflow.start_run(run_name=f"cutoff-{cutoff}", nested=True):
            mlflow.log_params({"cutoff": cutoff, **params})
            mlflow.log_metrics(_finite(metrics))

    def log_summary(self, metrics: Mapping[str, float], report_dir: Path | None) -> None:
        """Means over cutoffs on the parent run, and the report folder as its artifacts."""
        import mlflow

        mlflow.log_metrics(_finite(metrics))
        if report_dir is not None and report_dir.exists():
            mlflow.log_artifacts(str(report_dir), artifact_path="report")


@contextmanager
def backtest_run(settings: Tracking, params: Mapping[str, Any]) -> Iterator[BacktestTracker]:
    """Open the parent run (or a :class:`NullTracker` when tracking is disabled) for the whole backtest."""
    if not settings.enabled:
        yield NullTracker()
        return
    import mlflow

    mlflow.set_tracking_uri(settings.tracking_uri)
    if mlflow.get_experiment_by_name(settings.experiment_name) is None:
        # created here so that artifacts go where the config says, not to ./mlruns of the current folder
        mlflow.create_experiment(settings.experiment_name, artifact_location=settings.artifact_location)
    mlflow.set_experiment(settings.experiment_name)
    with mlflow.start_run(run_name="backtest") as run:
        mlflow.log_params(dict(params))
        yield MlflowTracker(run.info.run_id)
