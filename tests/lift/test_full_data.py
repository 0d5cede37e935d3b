"""The whole estimator on the real Complete Journey data (a fixed-seed household sample): slow."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from engine.data.loaders import complete_journey_dir
from engine.lift.config import load_lift_estimate_config
from engine.lift.files import read_lift_file
from engine.lift.pipeline import run_lift_estimate


@pytest.mark.slow
def test_full_data_sample_writes_a_valid_file_and_report(tmp_path: Path) -> None:
    config = load_lift_estimate_config().model_copy(
        update={"sample_households": 800, "bootstrap_resamples": 100}
    )
    run = run_lift_estimate(
        config,
        complete_journey_dir(),
        tmp_path / "lifts.toml",
        tmp_path / "rep",
        "test",
        progress=False,
        today=date(2026, 12, 2),
    )
    assert read_lift_file(tmp_path / "lifts.toml") == run.lift_file
    assert run.evidence.households == 800
    assert run.evidence.sampled
    # the week-37 quirk is there and merged; 20 of 27 campaigns have the history a DiD needs
    assert any(
        "duplicated product x store x week rows merged" in n and not n.startswith("promotions: 0 ")
        for n in run.evidence.notes
    )
    assert len(run.evidence.campaign_windows) == 20
    for kind in ("habitual", "stretch"):
        primary = run.evidence.find(config.primary_method, kind)
        assert primary is not None
        assert primary.finite
        entry = run.lift_file.estimate(kind, "*")
        assert (entry.status == "estimated") == primary.shows_lift
    assert "a fixed-seed sample" in (tmp_path / "rep" / "report.md").read_text()
