"""Backtest settings: the model of ``configs/backtest.toml``.

The candidate-list sizes and history windows of the baselines are *not* here: baselines read them from
``configs/train.toml`` (``candidates.k_*``, ``candidates.min_baskets_habitual``,
``features.decay_half_life_weeks``, ``features.popularity_weeks``) so the model and the baselines
compete on the same terms.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from engine.config import CONFIG_DIR, StrictModel, load_config

#: The shipped backtest config.
DEFAULT_BACKTEST_CONFIG = CONFIG_DIR / "backtest.toml"

Policy = Literal["model", "topfreq", "decayed", "popular", "cooc", "random"]
#: Every policy the backtest knows, model first.
POLICIES: tuple[Policy, ...] = ("model", "topfreq", "decayed", "popular", "cooc", "random")
HABITUAL_BASELINES: tuple[Policy, ...] = ("topfreq", "decayed")
STRETCH_BASELINES: tuple[Policy, ...] = ("popular", "cooc", "random")

Week = Annotated[int, Field(ge=2)]
Positive = Annotated[int, Field(ge=1)]


class StatsParams(StrictModel):
    """Paired comparison: member-clustered bootstrap of per-member differences."""

    bootstrap_resamples: Positive = 2000
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0)
    seed: int = 20170101


class Bars(StrictModel):
    """The issue's bars for the model, on the primary window, averaged over cutoffs."""

    #: Model habitual hit rate / personal top-frequency's must be at least this.
    habitual_vs_topfreq: float = Field(default=1.05, gt=0)
    #: Model habitual hit rate / time-decayed frequency's must be at least this.
    habitual_vs_decayed: float = Field(default=1.0, gt=0)
    #: Model stretch adoption / popularity-among-non-buyers' must be at least this (and the paired CI
    #: of the difference must exclude zero).
    stretch_vs_popular: float = Field(default=1.2, gt=0)


class Tracking(StrictModel):
    """Where MLflow records the backtest: one parent run, one child run per cutoff."""

    enabled: bool = True
    tracking_uri: str = "sqlite:///mlflow.db"
    #: Where a newly created experiment keeps its artifacts (the report is logged there).
    artifact_location: str = "./mlartifacts"
    experiment_name: str = "offer-engine-backtest"


class BacktestConfig(StrictModel):
    """Everything ``offers backtest`` needs besides the data."""

    #: Training cutoffs: candidates are built on weeks < cutoff and challenges issued for the cutoff week.
    cutoffs: list[Week] = Field(default_factory=lambda: [30, 34, 38, 42, 46, 50], min_length=1)
    #: Measurement windows in weeks (the challenge week and the weeks after it).
    windows: list[Positive] = Field(default_factory=lambda: [1, 2], min_length=1)
    #: The window the bars are judged on.
    primary_window: Positive = 1
    policies: list[Policy] = Field(default_factory=lambda: list(POLICIES), min_length=1)
    #: Seed of the random-category baseline (offset by the cutoff so weeks differ).
    random_seed: int = 17
    out_dir: Path = Path("experiments/backtest")
    train_config: Path = CONFIG_DIR / "train.toml"
    rules: Path = CONFIG_DIR / "rules.toml"
    data: Path = CONFIG_DIR / "data.toml"
    stats: StatsParams = Field(default_factory=StatsParams)
    bars: Bars = Field(default_factory=Bars)
    tracking: Tracking = Field(default_factory=Tracking)
    progress: bool = True

    @field_validator("train_config", "rules", "data")
    @classmethod
    def _relative_to_configs(cls, value: Path) -> Path:
        # like data.toml: paths to other configs are read relative to the configs folder
        return value if value.is_absolute() else CONFIG_DIR / value

    @field_validator("cutoffs", "windows", "policies")
    @classmethod
    def _unique(cls, values: list[object]) -> list[object]:
        dupes = sorted({str(v) for v in values if values.count(v) > 1})
        if dupes:
            raise ValueError(f"listed more than once: {dupes}")
        return values

    @model_validator(mode="after")
    def _primary_is_measured(self) -> BacktestConfig:
        if self.primary_window not in self.windows:
            raise ValueError(f"primary_window {self.primary_window} is not one of windows {self.windows}")
        return self


def load_backtest_config(path: Path | str = DEFAULT_BACKTEST_CONFIG) -> BacktestConfig:
    """Read and validate ``configs/backtest.toml`` (or another file with the same keys).

    Raises
    ------
    engine.errors.ConfigError
        Naming the file and each bad key.
    """
    return load_config(path, BacktestConfig)
