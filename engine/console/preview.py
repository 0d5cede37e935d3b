"""Rules preview over every member of the model version the service serves (the CLI's preview, reused).

The artifact of the served version is read once and kept; the live rules' batch is kept per (version,
rules version, week), so a marketer's next preview only assembles the draft's batch. Charts group by
every ``by_*`` breakdown the preview returns (today ``by_tier``; stages or segments when the preview
grows them), so a new breakdown shows up without a change here.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.artifact import CandidateArtifact, read_artifact
from engine.challenge import Challenge, assemble_batch
from engine.rules.config import RulesConfig, rules_version
from engine.rules.preview import Preview, compare
from engine.serve.publish import check_version


@dataclass(frozen=True)
class PreviewRun:
    """A preview and how long it took (seconds)."""

    preview: Preview
    model_version: str
    week: int
    seconds: float

    def breakdowns(self) -> dict[str, dict[str, Any]]:
        """Every ``by_*`` grouping of the preview, by its name without ``by_`` (e.g. ``tier``)."""
        data = self.preview.to_dict()
        return {k[3:]: v for k, v in data.items() if k.startswith("by_") and isinstance(v, dict)}


class PreviewRunner:
    """Runs previews against ``<artifact_root>/<served version>`` (CPU-bound: call it off the event loop)."""

    def __init__(self, artifact_root: Path) -> None:
        self.artifact_root = artifact_root
        self._lock = threading.Lock()
        self._artifact: tuple[str, CandidateArtifact] | None = None
        self._live_batch: tuple[tuple[str, str, int], list[Challenge]] | None = None

    def artifact(self, version: str) -> CandidateArtifact:
        """The artifact of ``version``, read once."""
        if self._artifact is None or self._artifact[0] != version:
            self._artifact = (version, read_artifact(self.artifact_root / check_version(version)))
        return self._artifact[1]

    def run(self, version: str, live: RulesConfig, draft: RulesConfig, week: int | None = None) -> PreviewRun:
        """Compare live and draft rules over every member of ``version`` in ``week`` (default: its own)."""
        start = time.perf_counter()
        with self._lock:
            artifact = self.artifact(version)
            challenge_week = artifact.manifest.challenge_week if week is None else week
            key = (version, rules_version(live), challenge_week)
            if self._live_batch is None or self._live_batch[0] != key:
                self._live_batch = (key, assemble_batch(artifact, live, challenge_week))
            current = self._live_batch[1]
        candidate = assemble_batch(artifact, draft, challenge_week)
        result = compare(current, candidate)
        return PreviewRun(result, version, challenge_week, time.perf_counter() - start)
