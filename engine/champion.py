"""The served model's one source of truth: the ``<artifact_root>/CHAMPION`` file.

Why the file and not MLflow's ``champion`` alias: serving reads it (the serving process never imports
MLflow, and a serving host need not have MLflow installed), and training with tracking off still names
a champion. The registry alias is derived: :func:`engine.train.tracking.set_alias` moves it to the
registered version tagged with the file's model version, only through a promotion, and
``offers champion check`` (and every promotion) refuses when the two disagree.

A newly trained model is promoted (the file rewritten) only when :func:`decide_promotion` says so: no
champion yet, or the same data source with a cutoff no earlier than the champion's (the weekly retrain).
A model trained on other data, or on an earlier cutoff (a backtest-like run), is kept beside the
champion and promoted only on request (``offers train --promote`` or ``offers champion promote``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from engine.artifact import read_manifest
from engine.errors import ArtifactError, InvalidArtifact, NotFound

#: The file beside the model folders that names the version to serve.
CHAMPION_FILE = "CHAMPION"


def read_champion(artifact_root: Path) -> str | None:
    """The model version ``<artifact_root>/CHAMPION`` names, or None when there is no champion yet."""
    path = artifact_root / CHAMPION_FILE
    try:
        version = path.read_text().strip()
    except FileNotFoundError:
        return None
    if not version:
        raise ArtifactError(f"{path}: empty; it must hold the champion's model version")
    return version


def champion_version(artifact_root: Path) -> str:
    """The champion's model version; :class:`NotFound` when none was trained yet."""
    version = read_champion(artifact_root)
    if version is None:
        raise NotFound(
            f"{artifact_root / CHAMPION_FILE}: no champion model yet (train one with `offers train`)"
        )
    return version


def write_champion(artifact_root: Path, version: str) -> Path:
    """Name ``version`` the champion, atomically (a reader sees the old or the new name, never half)."""
    if not (artifact_root / version / "manifest.json").is_file():
        raise NotFound(f"{artifact_root / version}: no such model (no manifest.json); nothing promoted")
    path = artifact_root / CHAMPION_FILE
    staging = path.with_suffix(".tmp")
    staging.write_text(version + "\n")
    os.replace(staging, path)
    return path


@dataclass(frozen=True)
class Promotion:
    """Whether a new model replaces the champion, and why (printed by ``offers train``)."""

    promote: bool
    reason: str


def decide_promotion(
    artifact_root: Path, data_source: str, as_of_week: int, *, requested: bool = False
) -> Promotion:
    """Whether a model trained on ``data_source`` before ``as_of_week`` should become the champion.

    Decided before training starts, so ``offers train`` says up front whether production will move.
    """
    if requested:
        return Promotion(True, "promotion requested (--promote)")
    current = read_champion(artifact_root)
    if current is None:
        return Promotion(True, "no champion yet")
    try:
        champion = read_manifest(artifact_root / current)
    except InvalidArtifact as exc:
        return Promotion(False, f"the champion {current} cannot be read ({exc.message}); promote explicitly")
    if champion.data_source is None or data_source != champion.data_source:
        return Promotion(
            False,
            f"trained on other data ({data_source!r}) than the champion {current} "
            f"({champion.data_source!r}); the champion keeps serving",
        )
    if as_of_week < champion.as_of_week:
        return Promotion(
            False,
            f"cutoff week {as_of_week} is before the champion's ({champion.as_of_week}, model "
            f"{current}); the champion keeps serving",
        )
    return Promotion(True, f"same data source as the champion {current}, cutoff week not earlier")
