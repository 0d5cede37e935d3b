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
from engine.data.schema import TIERS

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
    #: Member-facing bars against the raw baselines (no rules; see :mod:`engine.backtest.raw`), pooled
    #: over the member-weeks of every cutoff. Model habitual hit rate / raw two most-bought products'.
    habitual_vs_raw_topfreq: float = Field(default=1.0, gt=0)
    #: Model stretch adoption / the raw most popular never-bought category's.
    stretch_vs_raw_popular: float = Field(default=1.1, gt=0)
    #: Model spend in the stretch category over the challenge week and the weeks after / the raw's.
    spend_vs_raw_popular: float = Field(default=1.3, gt=0)
    #: Model natural completion / the raw baseline challenge's (two most-bought + most popular new).
    completion_vs_raw: float = Field(default=1.0, gt=0)
    #: Share of gold and diamond members issued a challenge, in the worst cutoff.
    gold_diamond_issued: float = Field(default=0.9, ge=0, le=1)
    #: Share of members active in the last ``member_facing.active_weeks`` issued, in the worst cutoff.
    active_coverage: float = Field(default=0.85, ge=0, le=1)
    #: Issued challenges that fail a re-check of the hard guard or the exclusions.
    max_guard_violations: int = Field(default=0, ge=0)


class MemberFacing(StrictModel):
    """Windows of the member-facing measurement against the raw baselines (:mod:`engine.backtest.raw`)."""

    #: Raw popularity of a category: share of the shoppers of the ``popularity_weeks`` weeks before the
    #: cutoff (members with any purchase then) who bought in the category in those weeks.
    popularity_weeks: Positive = 8
    #: Coverage: members with a purchase in the ``active_weeks`` weeks before the cutoff.
    active_weeks: Positive = 8
    #: New-category spend: the challenge week and this many weeks after it. Cutoffs whose horizon runs
    #: past the data's last week are left out of the spend and repeat-purchase numbers (and the report
    #: says which), never measured on a truncated horizon.
    weeks_after: Positive = 8
    #: Tiers whose issued share is held to ``bars.gold_diamond_issued``.
    rich_tiers: list[str] = Field(default_factory=lambda: ["gold", "diamond"], min_length=1)

    @field_validator("rich_tiers")
    @classmethod
    def _known_tiers(cls, tiers: list[str]) -> list[str]:
        unknown = sorted(set(tiers) - set(TIERS))
        if unknown:
            raise ValueError(f"unknown tier(s) {unknown}; tiers are {list(TIERS)}")
        return tiers


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
    member_facing: MemberFacing = Field(default_factory=MemberFacing)
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
