"""``offers train``: candidates, artifact on disk, MLflow run and registry, promotion.

Data flows one way: Dataset -> history features -> LightFM -> ranker -> candidates -> artifact ->
MLflow. The artifact is written under ``<artifact_root>/<model_version>/``; when the model is promoted
(:func:`engine.champion.decide_promotion`), ``<artifact_root>/CHAMPION`` names it and the MLflow alias
follows, so serving and the rules preview find the model without MLflow.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

from engine.artifact import write_artifact
from engine.champion import CHAMPION_FILE, decide_promotion
from engine.data.schema import WEEK, Dataset
from engine.errors import DataValidationError
from engine.train.candidates import fit_candidates
from engine.train.config import TrainConfig
from engine.train.promote import check_agreement, promote

__all__ = ["CHAMPION_FILE", "TrainResult", "new_model_version", "resolve_as_of", "train"]


@dataclass(frozen=True)
class TrainResult:
    """What a training run produced and where to find it."""

    run_id: str | None
    model_version: str
    artifact_dir: Path
    timings: dict[str, float]
    registered_model: str | None = None
    registered_version: str | None = None
    #: The alias moved to this model (None: not promoted, or tracking off).
    alias: str | None = None
    #: Whether the model became the champion, and why (or why not).
    promoted: bool = False
    promotion_reason: str = ""


def resolve_as_of(value: str | int | None, dataset: Dataset, week_start: date) -> int:
    """The cutoff week from ``--as-of``: a week number, an ISO date (its week) or None (after the last week).

    Parameters
    ----------
    value
        ``"30"``, ``30``, ``"2017-07-23"`` or None.
    dataset
        The data (for the default and the range check).
    week_start
        First day of week 1 (``configs/data.toml``).
    """
    last = dataset.n_weeks
    if value is None:
        return last + 1
    text = str(value).strip()
    if text.isdigit():
        week = int(text)
    else:
        try:
            day = date.fromisoformat(text)
        except ValueError as exc:
            raise DataValidationError(f"--as-of {text!r}: expected a week number or an ISO date") from exc
        week = (day - week_start).days // 7 + 1
    first = int(dataset.transactions[WEEK].min())
    if not first < week <= last + 1:
        raise DataValidationError(
            f"--as-of {text!r} is week {week}; the data covers weeks {first}..{last}, so the cutoff "
            f"must be in {first + 1}..{last + 1}"
        )
    return week


def new_model_version(as_of_week: int, fingerprint: str) -> str:
    """A unique, sortable model version name: ``<UTC time>-w<as-of>-<fingerprint prefix>``."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return f"{stamp}-w{as_of_week}-{fingerprint[:8]}"


def train(
    dataset: Dataset, as_of_week: int, config: TrainConfig, *, promote_model: bool = False
) -> TrainResult:
    """Train on weeks before ``as_of_week``, write the artifact, log to MLflow, promote if due.

    Parameters
    ----------
    dataset
        The full data set (cut at ``as_of_week`` inside).
    as_of_week
        Cutoff and challenge week.
    config
        Training config; ``config.tracking.enabled = false`` skips MLflow.
    promote_model
        Make the new model the champion whatever :func:`engine.champion.decide_promotion` says.

    Returns
    -------
    TrainResult
        Run id, model version, artifact directory, timings and the registry entry.
    """
    start = time.perf_counter()
    root = Path(config.artifact_root)
    decision = decide_promotion(root, dataset.source, as_of_week, requested=promote_model)
    if decision.promote:
        check_agreement(root, config.tracking)  # refuse before minutes of training, not after
    build = fit_candidates(dataset, as_of_week, config)
    fingerprint = build.artifact.manifest.data_fingerprint
    version = new_model_version(as_of_week, fingerprint)
    artifact = replace(build.artifact, manifest=replace(build.artifact.manifest, model_version=version))
    written = time.perf_counter()
    artifact_dir = write_artifact(artifact, root / version)
    timings = {**build.timings, "write_artifact_seconds": round(time.perf_counter() - written, 3)}
    if not config.tracking.enabled:
        if decision.promote:
            promote(root, version, config.tracking, check=False)
        timings["total_seconds"] = round(time.perf_counter() - start, 3)
        return TrainResult(
            None, version, artifact_dir, timings, promoted=decision.promote, promotion_reason=decision.reason
        )
    from engine.train.tracking import log_training_run  # MLflow is slow to import; only when tracking

    tags = {
        "data_fingerprint": fingerprint,
        "data_source": dataset.source,
        "as_of_week": str(as_of_week),
        "n_train_transactions": str(int((dataset.transactions[WEEK] < as_of_week).sum())),
    }
    tracked = log_training_run(config, artifact_dir, version, build.params, build.metrics, timings, tags)
    if decision.promote:
        promote(root, version, config.tracking)
    timings["total_seconds"] = round(time.perf_counter() - start, 3)
    return TrainResult(
        tracked.run_id,
        version,
        artifact_dir,
        timings,
        config.tracking.registered_model_name,
        tracked.registered_version,
        config.tracking.alias if decision.promote else None,
        decision.promote,
        decision.reason,
    )
