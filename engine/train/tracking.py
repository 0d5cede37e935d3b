"""MLflow logging of a training run: the only module of the engine that imports MLflow.

A run records the config as parameters, the data fingerprint, step timings, validation metrics and the
candidate artifact directory; the artifact is also logged as an MLflow ``pyfunc`` model, registered as
a new version of the configured model name. The configured alias (``champion``) is derived from the
``CHAMPION`` file (:mod:`engine.champion`, the one source of truth): :func:`set_alias` moves it only when
a model is promoted, and :func:`alias_disagreement` says when the two name different models.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.pyfunc.model import PythonModel
from mlflow.tracking import MlflowClient

from engine.errors import NotFound
from engine.train.config import TrackingParams, TrainConfig

#: The registry tag naming a registered version's artifact model version.
MODEL_VERSION_TAG = "model_version"


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
    """Record one training run and register its artifact (the alias moves only on promotion).

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
    client.set_model_version_tag(tracking.registered_model_name, version, MODEL_VERSION_TAG, model_version)
    return TrackedRun(run.info.run_id, experiment_id, version)


def alias_model_version(tracking: TrackingParams) -> str | None:
    """The artifact model version the registry alias points at (its ``model_version`` tag), or None."""
    client = MlflowClient(tracking_uri=tracking.tracking_uri)
    try:
        entry = client.get_model_version_by_alias(tracking.registered_model_name, tracking.alias)
    except MlflowException:
        return None  # no registered model or no alias yet
    tag = entry.tags.get(MODEL_VERSION_TAG)
    return None if tag is None else str(tag)


def alias_disagreement(tracking: TrackingParams, champion: str | None) -> str | None:
    """Why the alias and the ``CHAMPION`` file disagree, or None when they name the same model.

    No alias yet agrees with any file (the alias follows the file on the next promotion); an alias
    without a file, or pointing at another model than the file, disagrees.
    """
    aliased = alias_model_version(tracking)
    if aliased is None or aliased == champion:
        return None
    return (
        f"MLflow alias {tracking.registered_model_name}@{tracking.alias} ({tracking.tracking_uri}) names "
        f"model {aliased}, but the CHAMPION file names {champion or 'nothing'}"
    )


def registered_version(tracking: TrackingParams, model_version: str) -> str:
    """The newest registry version tagged ``model_version``; :class:`NotFound` when it is not registered."""
    client = MlflowClient(tracking_uri=tracking.tracking_uri)
    found: list[Any]
    try:
        found = list(
            client.search_model_versions(
                f"name = '{tracking.registered_model_name}' and tags.{MODEL_VERSION_TAG} = '{model_version}'"
            )
        )
    except MlflowException:
        found = []
    if not found:
        raise NotFound(
            f"model {model_version} is not registered as {tracking.registered_model_name} in "
            f"{tracking.tracking_uri}; the alias cannot follow the CHAMPION file"
        )
    return str(max(int(v.version) for v in found))


def set_alias(tracking: TrackingParams, version: str) -> None:
    """Point the alias at registry ``version`` (call through :func:`engine.train.promote.promote`)."""
    client = MlflowClient(tracking_uri=tracking.tracking_uri)
    client.set_registered_model_alias(tracking.registered_model_name, tracking.alias, version)
