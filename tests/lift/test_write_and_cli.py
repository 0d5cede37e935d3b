"""The lift file: the decision rule, a round trip through LiftFile, and the CLI on a tiny data set."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli import app
from engine.errors import ConfigError
from engine.lift.config import LiftEstimateConfig
from engine.lift.estimate import LiftEvidence
from engine.lift.files import parse_lift_text, read_lift_file, render_lift_file, write_lift_file
from engine.lift.write import decide
from engine.rules.lift import LiftFile
from tests.lift.conftest import write_config

TODAY = date(2026, 12, 2)


def test_an_effect_is_written_as_estimated_with_provenance(with_effect: LiftEvidence, tmp_path: Path) -> None:
    lift_file, why = decide(with_effect, TODAY)
    star = {(e.kind, e.department): e for e in lift_file.lift}
    for kind in ("habitual", "stretch"):
        e = star[(kind, "*")]
        found = with_effect.find("campaign_specific", kind)
        assert found is not None
        assert e.status == "estimated"
        assert e.log_odds == pytest.approx(found.log_odds, abs=1e-4)
        assert e.ci_low > 0
        assert e.n == found.households
        assert e.estimated_on == TODAY
        assert "campaign_specific" in e.method
        assert "bootstrap" in e.method
    # a department shows lift of its own: it gets its own entry
    assert ("habitual", "GROCERY") in star
    assert all("ESTIMATED" in line for line in why)
    path = write_lift_file(
        lift_file, ["made by a test", 'with "quotes" and a \\ backslash'], tmp_path / "l.toml"
    )
    assert read_lift_file(path) == lift_file
    assert '# with "quotes"' in path.read_text()


def test_no_effect_keeps_the_documented_priors(without_effect: LiftEvidence) -> None:
    lift_file, why = decide(without_effect, TODAY)
    config = without_effect.config
    assert len(lift_file.lift) == 2
    for e in lift_file.lift:
        prior = config.priors[e.kind]
        assert e.status == "prior"
        assert (e.log_odds, e.std_error, e.n) == (prior.log_odds, prior.std_error, 0)
        assert e.ci_low == pytest.approx(prior.log_odds - 1.96 * prior.std_error, abs=1e-3)
        assert e.estimated_on == prior.documented_on
        assert "no lift shown" in e.method
    assert all("PRIOR kept" in line and "bounded trial" in line for line in why)


def test_department_lift_without_a_star_lift_is_not_written(with_effect: LiftEvidence) -> None:
    # the '*' estimate says no lift, though a department's own interval is above zero: prior only
    stars = [
        replace(e, ci_low=-0.1) if e.department == "*" and e.campaign_type == "*" else e
        for e in with_effect.estimates
    ]
    lift_file, _ = decide(replace(with_effect, estimates=tuple(stars)), TODAY)
    assert [(e.kind, e.department, e.status) for e in lift_file.lift] == [
        ("habitual", "*", "prior"),
        ("stretch", "*", "prior"),
    ]


def test_rendered_text_is_toml_that_lift_file_validates(with_effect: LiftEvidence) -> None:
    lift_file, _ = decide(with_effect, TODAY)
    text = render_lift_file(lift_file, ["header"])
    assert LiftFile.model_validate(tomllib.loads(text)) == lift_file
    broken = text.replace('department = "*"', 'department = "GROCERY"', 2)
    with pytest.raises(ConfigError, match=r"two estimates for kind|no estimate for kind"):
        parse_lift_text(broken, "broken.toml")


def _invoke(data: Path, config: LiftEstimateConfig, tmp_path: Path) -> tuple[Path, Path]:
    out, report = tmp_path / "lifts.toml", tmp_path / "report"
    args = ["lift", "estimate", "--data-dir", str(data), "--out", str(out), "--report-dir", str(report)]
    args += [
        "--config",
        str(write_config(config, tmp_path / "cfg.toml")),
        "--resamples",
        "100",
        "--no-progress",
    ]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output
    return out, report


def test_cli_writes_a_valid_lift_file_and_report(
    cj_with_effect: Path, small_config: LiftEstimateConfig, tmp_path: Path
) -> None:
    out, report = _invoke(cj_with_effect, small_config, tmp_path)
    lift_file = read_lift_file(out)
    assert {(e.kind, e.status) for e in lift_file.lift if e.department == "*"} == {
        ("habitual", "estimated"),
        ("stretch", "estimated"),
    }
    assert out.read_text().startswith("# How much an offer raises")
    assert "# Written by `offers lift estimate" in out.read_text()
    text = (report / "report.md").read_text()
    for heading in (
        "## Decision",
        "## Methods and their assumptions",
        "## Estimates",
        "## The lift file written",
    ):
        assert heading in text
    assert "| campaign_specific | habitual | * | * |" in text
    assert (report / "lift_estimates.png").stat().st_size > 10_000


def test_cli_without_effect_writes_priors_and_says_so(
    cj_without_effect: Path, small_config: LiftEstimateConfig, tmp_path: Path
) -> None:
    out, report = _invoke(cj_without_effect, small_config, tmp_path)
    assert {e.status for e in read_lift_file(out).lift} == {"prior"}
    assert "PRIOR kept: the evidence shows no lift" in (report / "report.md").read_text()


def test_cli_refuses_a_bad_config(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('primary_method = "campaign_redeemers"\n')
    result = CliRunner().invoke(
        app, ["lift", "estimate", "--config", str(bad), "--out", str(tmp_path / "x.toml")]
    )
    assert result.exit_code != 0
    assert not (tmp_path / "x.toml").exists()
