"""One source of truth for the served model: the CHAMPION file, with the MLflow alias following it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.champion import decide_promotion, read_champion, write_champion
from engine.cli import app
from engine.data.schema import Dataset
from engine.errors import Conflict
from engine.train.config import TrainConfig
from engine.train.pipeline import train
from engine.train.promote import check_agreement, promote
from engine.train.tracking import alias_model_version

CUTOFF = 16


def _config_file(tmp_path: Path, config: TrainConfig) -> Path:
    path = tmp_path / "train.toml"
    path.write_text(
        f'artifact_root = "{config.artifact_root}"\nprogress = false\n[tracking]\n'
        f'tracking_uri = "{config.tracking.tracking_uri}"\n'
        f'artifact_location = "{config.tracking.artifact_location}"\n'
    )
    return path


def test_other_data_does_not_move_the_champion_and_a_mismatch_is_refused(
    synthetic_dataset: Dataset, fast_config: TrainConfig, tmp_path: Path
) -> None:
    root = fast_config.artifact_root
    first = train(synthetic_dataset, CUTOFF, fast_config)
    assert first.promoted
    assert read_champion(root) == first.model_version
    assert alias_model_version(fast_config.tracking) == first.model_version

    # someone else's files: registered, kept beside the champion, but production keeps serving `first`
    other = replace(synthetic_dataset, source="files: someone else's shop")
    second = train(other, CUTOFF, fast_config)
    assert not second.promoted
    assert "other data" in second.promotion_reason
    assert second.alias is None
    assert read_champion(root) == first.model_version
    assert alias_model_version(fast_config.tracking) == first.model_version

    # same data, an earlier cutoff (a backtest-like run) is not promoted either; a later one is
    source = synthetic_dataset.source
    assert not decide_promotion(root, source, CUTOFF - 2).promote
    assert decide_promotion(root, source, CUTOFF + 1).promote

    # an explicit promotion moves both, together
    assert promote(root, second.model_version, fast_config.tracking) == second.registered_version
    assert read_champion(root) == alias_model_version(fast_config.tracking) == second.model_version

    # the file edited by hand: the alias now disagrees, and every promotion refuses
    write_champion(root, first.model_version)
    with pytest.raises(Conflict, match="alias"):
        check_agreement(root, fast_config.tracking)
    with pytest.raises(Conflict, match="Nothing was promoted"):
        train(synthetic_dataset, CUTOFF, fast_config, promote_model=True)
    runner = CliRunner()
    config_file = _config_file(tmp_path, fast_config)
    checked = runner.invoke(app, ["champion", "check", "--config", str(config_file)])
    assert isinstance(checked.exception, Conflict), checked.output
    # `offers champion promote` repairs it: file and alias name the same model again
    repaired = runner.invoke(app, ["champion", "promote", first.model_version, "--config", str(config_file)])
    assert repaired.exit_code == 0, repaired.output
    assert alias_model_version(fast_config.tracking) == first.model_version
    assert runner.invoke(app, ["champion", "check", "--config", str(config_file)]).exit_code == 0


def test_without_tracking_the_file_alone_names_the_champion(
    synthetic_dataset: Dataset, fast_config: TrainConfig
) -> None:
    config = fast_config.model_copy(
        update={"tracking": fast_config.tracking.model_copy(update={"enabled": False})}
    )
    result = train(synthetic_dataset, CUTOFF, config)
    assert result.promoted
    assert result.run_id is None
    assert read_champion(config.artifact_root) == result.model_version
