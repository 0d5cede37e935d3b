"""configs/train.toml loads, and bad keys are refused with the file and key named."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import ConfigError
from engine.train.config import DEFAULT_TRAIN_CONFIG, load_train_config


def test_shipped_config_loads() -> None:
    config = load_train_config(DEFAULT_TRAIN_CONFIG)
    assert config.tracking.alias == "champion"
    assert config.tiers.is_absolute()
    assert config.candidates.k_habitual >= 2


def test_unknown_and_bad_keys_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "train.toml"
    path.write_text('[lightfm]\nno_components = 0\nloss = "warp"\ncolour = "blue"\n')
    with pytest.raises(ConfigError) as info:
        load_train_config(path)
    message = info.value.message
    assert str(path) in message
    assert "lightfm.no_components" in message
    assert "lightfm.colour" in message
