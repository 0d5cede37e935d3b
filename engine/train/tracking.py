"""MLflow logging of a training run: the only module of the engine that imports MLflow.

A run records the config as parameters, the data fingerprint, step timings, validation metrics and the
candidate artifact directory; the artifact is also logged as an MLflow ``pyfunc`` model, registered as
a new version of the configured model name, and the configured alias (``champion``) is moved to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.pyfunc.model import PythonModel
from mlflow.tracking import MlflowClient

from engine.train.config import TrackingParams, TrainConfig


class CandidateModel(PythonModel):
    """The candidate artifact as an MLflow model: ``predict`` returns the habitual lists of members.

    Serving reads the exported artifact directly; this wrapper exists so the registry can hold, version
    and alias the same files, and so an analyst can load a version with ``mlflow.pyfunc.load_model``.
    """

    def load_context(self, context: Any) -> None:
        """Read the artifact directory shipped with the model."""
        from engine.artifact import read_artifact

        self.artifact = read_artifact(context.artifacts["candidates"])

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, str] | None = None
    ) -> pd.DataFrame:
        """Habitual candidates of the members in ``model_input["member_id"]``."""
        habitual = self.artifact.habitual
        return habitual[habitual["member_id"].isin(model_input["member_id"])].reset_index(drop=True)


@dataclass(frozen=True)
class TrackedRun:
    """Where a run was recorded."""

    run_id: str
    experiment_id: str
    registered_version: str


def flat_params(config: TrainConfig) -> dict[str, str]:
    """The config as flat ``section.key`` parameters (MLflow parameters are strings)."""
    out: dict[str, str] = {}

    def walk(prefix: str, value: object) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), item)
        else:
            out[prefix] = str(value)

    walk("", config.model_dump(mode="json"))
    return out


def _experiment_id(client: MlflowClient, params: TrackingParams) -> str:
    existing = client.get_experiment_by_name(params.experiment_name)
    if existing is not None:
        return str(existing.experiment_id)
    return str(client.create_experiment(params.experiment_name, artifact_location=params.artifact_location))


def log_training_run(
    config: TrainConfig,
    artifact_dir: Path,
    model_version: str,
    params: dict[str, str],
    metrics: dict[str, float],
    timings: dict[str, float],
    tags: dict[str, str],
) -> TrackedRun:
    """Record one training run and register its artifact; the alias then points at the new version.

    Parameters
    ----------
    config
        The training config (logged flat as parameters; ``config.tracking`` says where).
    artifact_dir
        The written candidate artifact directory.
    model_version
        The artifact's model version (also set as tag on the registered version).
    params, metrics, timings, tags
        Extra parameters (chosen rankers...), validation metrics, step timings in seconds, run tags
        (data fingerprint, as-of week...).
    """
    tracking = config.tracking
    mlflow.set_tracking_uri(tracking.tracking_uri)
    client = MlflowClient(tracking_uri=tracking.tracking_uri)
    experiment_id = _experiment_id(client, tracking)
    with mlflow.start_run(experiment_id=experiment_id, run_name=model_version) as run:
        mlflow.log_params({**flat_params(config), **params})
        mlflow.log_metrics({**metrics, **{f"time_{k}": v for k, v in timings.items()}})
        mlflow.set_tags({**tags, "model_version": model_version})
        mlflow.log_artifacts(str(artifact_dir), artifact_path="candidates")
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=CandidateModel(),
            artifacts={"candidates": str(artifact_dir)},
            pip_requirements=["offer-engine"],
            registered_model_name=tracking.registered_model_name,
        )
    version = str(info.registered_model_version)
    client.set_model_version_tag(tracking.registered_model_name, version, "model_version", model_version)
    client.set_registered_model_alias(tracking.registered_model_name, tracking.alias, version)
    return TrackedRun(run.info.run_id, experiment_id, version)
