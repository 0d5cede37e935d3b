"""Settings of the experiment loop, read from ``configs/experiments.toml``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from engine.config import CONFIG_DIR, StrictModel, load_config

DEFAULT_CONFIG_PATH = CONFIG_DIR / "experiments.toml"


class StoreConfig(StrictModel):
    """The embedded SQLite event store."""

    type: Literal["sqlite"] = "sqlite"
    path: Path
    synchronous: Literal["FULL", "NORMAL"]
    busy_timeout_s: float = Field(gt=0)


class AnalysisConfig(StrictModel):
    """Statistics and outputs of ``offers experiment analyze``."""

    alpha: float = Field(gt=0, lt=1)
    srm_alpha: float = Field(gt=0, lt=1)
    pre_period_weeks: int = Field(ge=1)
    mlflow_tracking_uri: str = Field(min_length=1)
    mlflow_experiment: str = Field(min_length=1)
    reports_dir: Path


class SimulationConfig(StrictModel):
    """The behavioural response the replay simulator puts on top of real purchases."""

    lift: float = Field(ge=0, le=1)
    ignore_share: float = Field(ge=0, le=1)
    reward_cost: float = Field(ge=0)
    weeks: int = Field(ge=1)
    seed: int
    baseline_picks: int = Field(ge=1)
    synthetic_items: int = Field(ge=10)
    synthetic_weeks: int = Field(ge=2)


class ExperimentsConfig(StrictModel):
    """Everything in ``configs/experiments.toml``."""

    store: StoreConfig
    analysis: AnalysisConfig
    simulation: SimulationConfig


def load_experiments_config(path: Path | str = DEFAULT_CONFIG_PATH) -> ExperimentsConfig:
    """Read and validate the experiments config file."""
    return load_config(path, ExperimentsConfig)
