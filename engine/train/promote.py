"""Promoting a model: the ``CHAMPION`` file first (the source of truth), then the MLflow alias after it.

See :mod:`engine.champion` for why the file is authoritative. Every promotion first checks that the
alias and the file agree, and refuses (:class:`~engine.errors.Conflict`) when they do not: someone moved
one without the other, and which model production should serve is then a question for a person.
"""

from __future__ import annotations

from pathlib import Path

from engine.champion import read_champion, write_champion
from engine.errors import Conflict
from engine.train.config import TrackingParams


def check_agreement(artifact_root: Path, tracking: TrackingParams) -> str | None:
    """The champion's model version; :class:`Conflict` when the MLflow alias names another model."""
    champion = read_champion(artifact_root)
    if not tracking.enabled:
        return champion
    from engine.train.tracking import alias_disagreement  # MLflow is slow to import

    problem = alias_disagreement(tracking, champion)
    if problem is not None:
        raise Conflict(
            f"{problem}. Nothing was promoted. Decide which model production serves and run "
            "`offers champion promote VERSION` (it writes the file and moves the alias together)"
        )
    return champion


def promote(artifact_root: Path, version: str, tracking: TrackingParams, *, check: bool = True) -> str | None:
    """Make ``version`` the champion: file, then alias. Returns the registry version the alias names.

    ``check=False`` skips the agreement check (``offers champion promote``, which exists to repair a
    disagreement); the version must still be registered when tracking is on, so the alias can follow.
    """
    if check:
        check_agreement(artifact_root, tracking)
    if not tracking.enabled:
        write_champion(artifact_root, version)
        return None
    from engine.train.tracking import registered_version, set_alias

    registry_version = registered_version(tracking, version)  # before the file: both move or neither
    write_champion(artifact_root, version)
    set_alias(tracking, registry_version)
    return registry_version
