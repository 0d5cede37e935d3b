"""``offers backtest`` end to end on small synthetic files: real model, real rules, MLflow, report."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from engine.cli import app
from engine.config import CONFIG_DIR
from engine.data.synthetic import write_synthetic

# a small, quick model: the test checks the plumbing, not the model's quality
FAST_TRAIN = """
progress = false
[lightfm]
no_components = 4
epochs = 2
[category_lightfm]
no_components = 4
epochs = 2
[ranker]
kind = "logistic"
label_weeks = 1
"""


@pytest.fixture(scope="module")
def configs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("backtest")
    source = write_synthetic(root / "data", n_members=150, n_items=250, n_weeks=18, seed=11)
    (root / "data.toml").write_text(
        f'margins = "{CONFIG_DIR / "margins.toml"}"\ntiers = "{CONFIG_DIR / "tiers.toml"}"\n'
        f'[source]\ntype = "files"\nformat = "parquet"\ntransactions = "{source.transactions}"\n'
        f'catalog = "{source.catalog}"\nmembers = "{source.members}"\n'
    )
    (root / "train.toml").write_text(FAST_TRAIN)
    (root / "backtest.toml").write_text(
        f'cutoffs = [13, 15]\nwindows = [1, 2]\ntrain_config = "{root / "train.toml"}"\n'
        f'rules = "{CONFIG_DIR / "rules.toml"}"\ndata = "{root / "data.toml"}"\nprogress = false\n'
        f"[stats]\nbootstrap_resamples = 200\n"
        f'[tracking]\ntracking_uri = "sqlite:///{root / "mlflow.db"}"\n'
        f'artifact_location = "{root / "mlartifacts"}"\nexperiment_name = "bt-test"\n'
    )
    return root


def test_backtest_command_writes_report_and_tracks_runs(configs: Path) -> None:
    out = configs / "report"
    out.mkdir()
    (out / "tuning.md").write_text("Tried a margin exponent of 0.5 on weeks 9-12 only.\n")
    result = CliRunner().invoke(
        app, ["backtest", "--config", str(configs / "backtest.toml"), "--out", str(out), "--cutoffs", "13,15"]
    )
    assert result.exit_code == 0, result.output
    assert "habitual_hit_rate vs topfreq" in result.output
    # the member-facing bars against the raw baselines print beside the same-rules ones
    for bar in (
        "habitual_hit_rate vs raw two most-bought products",
        "stretch_adoption vs raw most popular never-bought category",
        "completion_rate vs raw baseline challenge",
        "category_spend vs raw most popular never-bought category",
        "gold and diamond members issued",
        "members active in the last 8 weeks issued",
        "guard violations",
    ):
        assert bar in result.output

    report = (out / "report.md").read_text()
    assert "## Verdict (1-week window" in report
    assert ("PASS" in report) or ("FAIL" in report)
    for policy in ("model", "topfreq", "decayed", "popular", "cooc", "random"):
        assert f"| {policy} |" in report
    assert "stretch top-1, before rules" in report
    assert "## Member-facing: the model's challenges against raw baselines (no rules)" in report
    # 18 weeks of data: cutoffs 13 and 15 cannot see 8 weeks after the challenge week, and say so
    assert "Cutoffs [13, 15] are left out of the spend and repeat numbers" in report
    facing = pd.read_csv(out / "member_facing.csv")
    assert set(facing["source"]) == {"model", "raw"}
    assert set(facing["cutoff"]) == {13, 15}
    assert facing["category_spend"].isna().all()
    issuance = pd.read_csv(out / "issuance.csv")
    assert issuance["cutoff"].tolist() == [13, 15]
    assert (issuance["active_issued"] <= issuance["active"]).all()
    assert "Informational, not a bar: stretch top-1 adoption" in report
    # the hand-written tuning notes are carried into the regenerated report, after the verdict
    notes = report.index("## What was tried (from `tuning.md`, written by hand)")
    assert report.index("## Verdict") < notes < report.index("## Protocol")
    assert "Tried a margin exponent of 0.5 on weeks 9-12 only." in report
    summaries = pd.read_csv(out / "summaries.csv").set_index(["cutoff", "window", "policy"])
    top1 = summaries["stretch_top1_adoption"].unstack("policy")
    assert top1["model"].notna().all()
    # habitual baselines keep the model's stretch list, so their ranking-alone number is the model's
    pd.testing.assert_series_equal(top1["topfreq"], top1["model"], check_names=False)
    for png in ("metrics_w1.png", "metrics_w2.png", "by_cutoff_w1.png", "paired_w1.png"):
        assert (out / png).stat().st_size > 0

    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{configs / 'mlflow.db'}")
    runs = mlflow.search_runs(experiment_names=["bt-test"], output_format="list")
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1
    assert sorted(r.data.params["cutoff"] for r in children) == ["13", "15"]
    assert all(r.data.tags["mlflow.parentRunId"] == parents[0].info.run_id for r in children)
    assert "model.w1.habitual_hit_rate" in parents[0].data.metrics
    assert all("popular.w1.stretch_top1_adoption" in r.data.metrics for r in children)
    # member-facing: shares per cutoff on the child runs, model/raw ratios on the parent
    assert all(0 <= r.data.metrics["member.issued_share.active"] <= 1 for r in children)
    assert "member.habitual_hit_rate.ratio" in parents[0].data.metrics


def test_bad_option_is_refused_clearly(configs: Path) -> None:
    result = CliRunner().invoke(
        app, ["backtest", "--config", str(configs / "backtest.toml"), "--cutoffs", "13,x", "--no-tracking"]
    )
    assert result.exit_code != 0
    assert "--cutoffs" in str(result.exception)


def test_unknown_rich_tier_is_refused(configs: Path, tmp_path: Path) -> None:
    bad = tmp_path / "backtest.toml"
    bad.write_text((configs / "backtest.toml").read_text() + '[member_facing]\nrich_tiers = ["platinum"]\n')
    result = CliRunner().invoke(app, ["backtest", "--config", str(bad), "--no-tracking"])
    assert result.exit_code != 0
    assert "member_facing.rich_tiers" in str(result.exception)
    assert "platinum" in str(result.exception)


def test_unknown_policy_is_refused(configs: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["backtest", "--config", str(configs / "backtest.toml"), "--models", "model,lasso", "--no-tracking"],
    )
    assert result.exit_code != 0
    assert "lasso" in str(result.exception)


def test_report_without_tuning_notes_has_no_notes_section(tmp_path: Path) -> None:
    from engine.backtest.report import TUNING_NOTES, _tuning_notes

    assert _tuning_notes(tmp_path / TUNING_NOTES) == []
    (tmp_path / TUNING_NOTES).write_text("\n  weeks 22-29 only \n\n")
    assert _tuning_notes(tmp_path / TUNING_NOTES)[2:] == ["weeks 22-29 only", ""]
