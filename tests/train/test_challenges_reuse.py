"""`offers challenges --as-of W` says when it trains, and reuses a model trained for W on the same data."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from engine.cli import app
from engine.data.synthetic import write_synthetic

WEEK = 16


def _configs(tmp_path: Path) -> tuple[Path, Path]:
    source = write_synthetic(tmp_path / "data", 200, 300, 20, 7)
    data = tmp_path / "data.toml"
    data.write_text(
        f'[source]\ntype = "files"\ntransactions = "{source.transactions}"\n'
        f'catalog = "{source.catalog}"\nmembers = "{source.members}"\n'
    )
    lightfm = "no_components = 8\nepochs = 3\nwarm_start_epochs = 1\nnum_threads = 1\nrandom_state = 3\n"
    train = tmp_path / "train.toml"
    train.write_text(
        f'artifact_root = "{tmp_path / "artifacts"}"\nprogress = false\n'
        f"[lightfm]\n{lightfm}[category_lightfm]\n{lightfm}"
        "[ranker]\nhist_gb = { max_iter = 20 }\n[tracking]\nenabled = false\n"
    )
    return data, train


def test_challenges_reuse_a_trained_model_and_say_when_they_train(tmp_path: Path) -> None:
    data, train = _configs(tmp_path)
    runner = CliRunner()

    def run(out: str, *extra: str) -> str:
        args = ["challenges", "--as-of", str(WEEK), "--out", str(tmp_path / out)]
        result = runner.invoke(app, [*args, "--config", str(train), "--data-config", str(data), *extra])
        assert result.exit_code == 0, result.output
        return result.output

    first = run("first.parquet")
    assert f"no model in {tmp_path / 'artifacts'}/ was trained for week {WEEK}" in first
    assert "training one now" in first
    models = sorted(p for p in (tmp_path / "artifacts").iterdir() if p.is_dir())
    assert len(models) == 1
    assert not (tmp_path / "artifacts" / "CHAMPION").exists()  # kept for reuse, never promoted

    second = run("second.parquet")
    assert f"reusing model {models[0].name}" in second
    assert "training" not in second
    assert sorted(p for p in (tmp_path / "artifacts").iterdir() if p.is_dir()) == models
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "first.parquet"), pd.read_parquet(tmp_path / "second.parquet")
    )

    forced = run("third.parquet", "--train")
    assert "--train: training one now" in forced
    assert len([p for p in (tmp_path / "artifacts").iterdir() if p.is_dir()]) == 2
