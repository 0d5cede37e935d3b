"""``offers report NAME`` through the CLI on small synthetic files: files written, JSON printed, bad names."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from engine.cli import app
from engine.config import CONFIG_DIR
from engine.data.synthetic import write_synthetic
from engine.reports import REPORTS


@pytest.fixture(scope="module")
def data_toml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("reports")
    source = write_synthetic(root / "data", n_members=120, n_items=150, n_weeks=16, seed=5)
    path = root / "data.toml"
    path.write_text(
        f'margins = "{CONFIG_DIR / "margins.toml"}"\ntiers = "{CONFIG_DIR / "tiers.toml"}"\n'
        f'[source]\ntype = "files"\nformat = "parquet"\ntransactions = "{source.transactions}"\n'
        f'catalog = "{source.catalog}"\nmembers = "{source.members}"\n'
    )
    return path


def test_report_json_and_files(data_toml: Path, tmp_path: Path) -> None:
    out = tmp_path / "concentration"
    result = CliRunner().invoke(
        app, ["report", "concentration", "--data", str(data_toml), "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["report"] == "concentration"
    assert doc["cutoff"] == 17  # the week after the data's last
    assert doc["numbers"]["members"] == 120
    assert 0 < doc["numbers"]["top_share_of_sales"] < 1
    assert 0 <= doc["numbers"]["gini"] < 1
    deciles = pd.read_parquet(out / "deciles.parquet")
    assert deciles["sales"].sum() == pytest.approx(doc["numbers"]["sales"])
    assert pd.read_csv(out / "deciles.csv")["members"].sum() == 120
    assert doc["tables"]["deciles"][0]["decile"] == 1
    assert (out / "lorenz.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    markdown = (out / "report.md").read_text()
    assert "# Customer concentration" in markdown
    assert "![lorenz](lorenz.png)" in markdown


def test_unknown_report_lists_the_valid_names(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["report", "bestsellers", "--out", str(tmp_path)])
    assert result.exit_code == 6
    assert "unknown report 'bestsellers'" in result.stderr
    for name in REPORTS:
        assert name in result.stderr
    assert not any(tmp_path.iterdir())


def test_offer_report_without_challenges_file_says_how_to_make_one(data_toml: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["report", "fairness", "--data", str(data_toml), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "offers challenges --as-of WEEK" in result.stderr


def test_bad_challenges_file_is_refused(data_toml: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.parquet"
    pd.DataFrame({"member_id": [1]}).to_parquet(bad)
    result = CliRunner().invoke(
        app,
        [
            "report",
            "offer-economics",
            "--data",
            str(data_toml),
            "--challenges",
            str(bad),
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code != 0
    assert "not an `offers challenges` file" in str(result.exception)
