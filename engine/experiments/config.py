"""Settings of the experiment loop, read from ``configs/experiments.toml``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field

from engine.config import CONFIG_DIR, StrictModel, load_config
from engine.redis_config import RedisConnection

if TYPE_CHECKING:
    from engine.experiments.protocol import EventStore

DEFAULT_CONFIG_PATH = CONFIG_DIR / "experiments.toml"


class SqliteStoreConfig(StrictModel):
    """The embedded SQLite event store (the default)."""

    type: Literal["sqlite"]
    path: Path
    synchronous: Literal["FULL", "NORMAL"]
    busy_timeout_s: float = Field(gt=0)


class RedisStoreConfig(RedisConnection):
    """Events in Redis streams (durable when the server runs with AOF); one node or a cluster, TLS."""

    type: Literal["redis"]
    prefix: str = Field(min_length=1, pattern=r"^[^{}]+$")
    busy_timeout_s: float = Field(gt=0)


StoreConfig = Annotated[SqliteStoreConfig | RedisStoreConfig, Field(discriminator="type")]


class AnalysisConfig(StrictModel):
    """Statistics and outputs of ``offers experiment analyze``."""

    alpha: float = Field(gt=0, lt=1)
    srm_alpha: float = Field(gt=0, lt=1)
    pre_period_weeks: int = Field(ge=1)
    sequential_tuning: int = Field(ge=1)
    power: float = Field(gt=0, lt=1)
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
    store_dir: Path
    synthetic_items: int = Field(ge=10)
    synthetic_weeks: int = Field(ge=2)


class AAConfig(StrictModel):
    """``offers experiment aa``: how many A/A experiments, over which weeks, looked at daily."""

    runs: int = Field(ge=1)
    weeks: int = Field(ge=1)
    treated_share: float = Field(gt=0, lt=1)
    seed: int
    reports_dir: Path


class ExperimentsConfig(StrictModel):
    """Everything in ``configs/experiments.toml``."""

    store: StoreConfig
    analysis: AnalysisConfig
    simulation: SimulationConfig
    aa: AAConfig


def open_store(config: SqliteStoreConfig | RedisStoreConfig, path: Path | None = None) -> EventStore:
    """Open the configured event store; ``path`` forces a SQLite file (the CLI's ``--store``)."""
    from engine.experiments.store import SqliteEventStore

    if path is not None:
        return SqliteEventStore(path, busy_timeout_s=config.busy_timeout_s)
    if isinstance(config, RedisStoreConfig):
        from engine.experiments.redis_store import RedisEventStore

        return RedisEventStore.connect(config, config.prefix, config.busy_timeout_s)
    return SqliteEventStore(config.path, synchronous=config.synchronous, busy_timeout_s=config.busy_timeout_s)


def load_experiments_config(path: Path | str = DEFAULT_CONFIG_PATH) -> ExperimentsConfig:
    """Read and validate the experiments config file."""
    return load_config(path, ExperimentsConfig)
