"""The batch config: single process by default, Ray by configuration (file or command line) only."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.batch import InProcessMapper, load_batch_config, open_mapper, resolve_engine
from engine.batch.config import DEFAULT_BATCH_CONFIG
from engine.errors import ConfigError


def test_the_shipped_config_is_the_single_process() -> None:
    config = load_batch_config()
    assert config.engine.type == "single"
    assert config.block_members is None
    assert isinstance(open_mapper(config), InProcessMapper)


def test_ray_settings_come_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "batch.toml"
    path.write_text(
        '[engine]\ntype = "ray"\naddress = "ray://head:10001"\nworkers = 8\nblock_members = 500\n'
    )
    config = load_batch_config(path)
    assert config.engine.type == "ray"
    assert (config.engine.address, config.engine.workers, config.block_members) == (
        "ray://head:10001",
        8,
        500,
    )


def test_command_line_options_override_the_file(tmp_path: Path) -> None:
    ray = resolve_engine(DEFAULT_BATCH_CONFIG, address="auto")
    assert ray.engine.type == "ray"
    assert ray.engine.address == "auto"
    assert resolve_engine(DEFAULT_BATCH_CONFIG, engine="ray").engine.type == "ray"
    path = tmp_path / "batch.toml"
    path.write_text('[engine]\ntype = "ray"\nworkers = 3\n')
    assert resolve_engine(path, engine="single").engine.type == "single"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('[engine]\ntype = "spark"\n', "engine"),
        ('[engine]\ntype = "ray"\nworkers = 0\n', "engine.ray.workers"),
        ('[engine]\ntype = "single"\naddress = "local"\n', "engine.single.address"),
        ('[engine]\ntype = "ray"\n[extra]\nx = 1\n', "extra"),
    ],
)
def test_bad_configs_name_the_key(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "batch.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=str(path)) as info:
        load_batch_config(path)
    assert where in info.value.message


def test_an_address_cannot_go_with_the_single_process() -> None:
    with pytest.raises(ConfigError, match="--address"):
        resolve_engine(DEFAULT_BATCH_CONFIG, engine="single", address="auto")
