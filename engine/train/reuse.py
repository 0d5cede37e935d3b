"""Finding a trained model to reuse: same challenge week, same data (by fingerprint).

``offers challenges --as-of W`` used to retrain for minutes every time; it now looks here first and trains
only when no model under ``artifact_root`` was trained on exactly this data for week ``W``.
"""

from __future__ import annotations

from pathlib import Path

from engine.artifact import read_manifest
from engine.champion import read_champion
from engine.errors import ArtifactError


def find_trained(artifact_root: Path, challenge_week: int, fingerprint: str) -> Path | None:
    """The artifact directory trained for ``challenge_week`` on data with ``fingerprint``, if any.

    The champion wins when it matches; otherwise the newest match (model versions sort by time).
    Unreadable folders are skipped: they are not candidates for reuse.
    """
    if not artifact_root.is_dir():
        return None
    matches: list[Path] = []
    for directory in sorted(p for p in artifact_root.iterdir() if p.is_dir()):
        try:
            manifest = read_manifest(directory)
        except ArtifactError:
            continue
        if manifest.challenge_week == challenge_week and manifest.data_fingerprint == fingerprint:
            matches.append(directory)
    if not matches:
        return None
    try:
        champion = read_champion(artifact_root)
    except ArtifactError:
        champion = None
    return next((m for m in matches if m.name == champion), matches[-1])
