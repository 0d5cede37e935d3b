"""`offers experiment analyze` writes measured lifts in the lift-file format the guards read."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from engine.experiments.analysis import analyze
from engine.experiments.definition import ExperimentDefinition
from engine.experiments.report import measured_log_odds, write_report
from engine.lift.files import DEFAULT_LIFT_FILE, read_lift_file, write_lift_file
from engine.rules.lift import LiftEstimate, LiftFile
from tests.experiments.test_analysis import CONFIG, outcome_frame

TODAY = date(2026, 12, 2)
SIZES = {"recommender": 800, "baseline": 600, "holdout": 600}


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def test_measured_lifts_replace_the_shipped_entries(definition: ExperimentDefinition, tmp_path: Path) -> None:
    result = analyze(outcome_frame(SIZES, effect=3.0), definition, CONFIG)
    files = write_report(result, tmp_path / "rep", today=TODAY)
    assert [f.name for f in files] == ["report.md", "effects.png", "proposed_lifts.toml"]
    proposed = read_lift_file(files[2])
    entries = {(e.kind, e.department): e for e in proposed.lift}
    assert set(entries) == {("habitual", "*"), ("stretch", "*")}
    # the frame's true rates: habitual 0.5 vs 0.4, stretch 0.2 vs 0.1 (offered picks vs shadow picks)
    for kind, (p_offer, p_base) in {"habitual": (0.5, 0.4), "stretch": (0.2, 0.1)}.items():
        e = entries[(kind, "*")]
        lift = next(x for x in result.lifts if x.kind == kind)
        assert e.status == "measured"
        assert e.log_odds == pytest.approx(_logit(lift.rate_offer) - _logit(lift.rate_base), abs=1e-4)
        assert e.ci_low <= _logit(p_offer) - _logit(p_base) <= e.ci_high
        assert e.ci_low > 0
        assert e.n == 1400  # recommender and holdout members with picks of that kind
        assert e.estimated_on == TODAY
        assert e.source.startswith(f"experiment {result.experiment!r}: arm 'recommender'")
    assert "PROPOSED from experiment" in files[2].read_text()
    assert "log odds ratio [CI]" in files[0].read_text()


def test_an_unmeasured_kind_keeps_the_base_entry(definition: ExperimentDefinition, tmp_path: Path) -> None:
    frame = outcome_frame(SIZES, effect=3.0)
    frame.loc[frame["arm"] == "holdout", ["stretch_offered", "stretch_bought"]] = 0.0  # no shadow stretch
    result = analyze(frame, definition, CONFIG)
    base = read_lift_file(DEFAULT_LIFT_FILE)
    department = LiftEstimate(
        **{**base.estimate("habitual", "*").model_dump(), "department": "GROCERY", "status": "estimated"}
    )
    base_path = write_lift_file(LiftFile(lift=(*base.lift, department)), ["base"], tmp_path / "base.toml")
    files = write_report(result, tmp_path / "rep", base_lifts=base_path, today=TODAY)
    proposed = read_lift_file(files[2])
    assert [(e.kind, e.department, e.status) for e in proposed.lift] == [
        ("habitual", "*", "measured"),
        ("stretch", "*", base.estimate("stretch", "*").status),  # kept from the base file
    ]  # and the habitual department entry is superseded by the randomised measurement
    assert proposed.estimate("stretch", "*") == base.estimate("stretch", "*")


def test_delta_method_standard_error_matches_repeated_experiments(definition: ExperimentDefinition) -> None:
    betas, ses = [], []
    for seed in range(60):
        result = analyze(outcome_frame(SIZES, seed=seed), definition, CONFIG)
        lift = next(x for x in result.lifts if x.kind == "habitual")
        got = measured_log_odds(lift, 0.95)
        assert got is not None
        betas.append(got[0])
        ses.append(got[1])
    assert np.mean(ses) == pytest.approx(np.std(betas, ddof=1), rel=0.25)
    assert np.mean(betas) == pytest.approx(_logit(0.5) - _logit(0.4), abs=0.03)
