"""The data config (discriminated source, unknown keys refused) and the ``offers data`` commands."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from engine.cli import app
from engine.config import CONFIG_DIR
from engine.data.config import CompleteJourneySource, FilesSource, load_data_config
from engine.errors import ConfigError


def test_shipped_config_reads_complete_journey() -> None:
    config = load_data_config(CONFIG_DIR / "data.toml")
    assert isinstance(config.source, CompleteJourneySource)
    assert config.invalid_rows == "report"
    assert config.margins == CONFIG_DIR / "margins.toml"


def test_files_source_with_column_map(tmp_path: Path) -> None:
    path = tmp_path / "data.toml"
    path.write_text(
        '[source]\ntype = "files"\nformat = "csv"\ntransactions = "t.csv"\ncatalog = "c.csv"\n'
        '[source.columns.transactions]\nhousehold_key = "member_id"\n'
    )
    source = load_data_config(path).source
    assert isinstance(source, FilesSource)
    assert source.columns.transactions == {"household_key": "member_id"}


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('invalid_rows = "ignore"', "invalid_rows"),
        ('[source]\ntype = "s3"', "source"),
        ("surprise = 1", "surprise"),
        (
            '[source]\ntype = "files"\ntransactions = "t"\ncatalog = "c"\n'
            '[source.columns.transactions]\nx = "colour"',
            "colour",
        ),
    ],
)
def test_bad_config_refused(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "data.toml"
    path.write_text(text + "\n")
    with pytest.raises(ConfigError, match=where):
        load_data_config(path)


def test_synth_then_check(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app, ["data", "synth", "--members", "30", "--items", "40", "--weeks", "4", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    config = tmp_path / "data.toml"
    config.write_text(
        f'[source]\ntype = "files"\ntransactions = "{tmp_path / "transactions.parquet"}"\n'
        f'catalog = "{tmp_path / "catalog.parquet"}"\nmembers = "{tmp_path / "members.parquet"}"\n'
    )
    result = runner.invoke(app, ["data", "check", "--config", str(config)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "transaction lines" in result.output
    assert "No rows removed." in result.output
    # the shipped (Complete Journey) margins keys match nothing here: a count and a few, not all of them
    from engine.data.config import load_data_config
    from engine.data.loaders import load_dataset
    from engine.data.margins import load_margins_config, unmatched_keys

    cfg = load_data_config(config)
    unmatched = unmatched_keys(load_dataset(cfg).catalog, load_margins_config(cfg.margins))
    assert len(unmatched) > 10
    assert f"{len(unmatched)} margins config key(s)" in result.output
    assert unmatched[0] in result.output
    assert unmatched[-1] not in result.output
    assert "--verbose lists all" in result.output
    verbose = runner.invoke(app, ["data", "check", "--config", str(config), "--verbose"])
    assert verbose.exit_code == 0, verbose.output
    assert all(key in verbose.output for key in unmatched)


def test_check_reports_discounts_and_the_promotion_calendar(tmp_path: Path) -> None:
    pd.DataFrame(
        {
            "member_id": [1, 2],
            "item_id": [10, 11],
            "basket_id": [1, 2],
            "week": [1, 2],
            "store_id": [5, 5],
            "quantity": [1, 1],
            "sales_value": [2.0, 3.0],
            "retail_disc": [0.5, 0.0],
        }
    ).to_csv(tmp_path / "tx.csv", index=False)
    pd.DataFrame({"item_id": [10, 11], "category": ["A", "B"], "department": ["D", "D"]}).to_csv(
        tmp_path / "cat.csv", index=False
    )
    promo = {"item_id": [10, 10], "store_id": [5, 5], "week": [1, 1], "display": [1, 0], "mailer": [0, 1]}
    pd.DataFrame(promo).to_csv(tmp_path / "promo.csv", index=False)
    config = tmp_path / "data.toml"
    config.write_text(
        f'[source]\ntype = "files"\nformat = "csv"\ntransactions = "{tmp_path / "tx.csv"}"\n'
        f'catalog = "{tmp_path / "cat.csv"}"\npromotions = "{tmp_path / "promo.csv"}"\n'
    )
    result = CliRunner().invoke(app, ["data", "check", "--config", str(config)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "lines with a loyalty discount" in result.output
    assert "50.0%" in result.output  # one line of two on promotion, one of two discounted
    assert "1 item-weeks, weeks 1..1" in result.output
    assert "item x store x week repeated" in result.output
