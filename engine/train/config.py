"""Training settings: the model of ``configs/train.toml``.

Every number the training stage uses lives here (with the shipped values in ``configs/train.toml``), so
that a run is fully described by its config and logged to MLflow as parameters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, PositiveFloat, PositiveInt, field_validator

from engine.config import CONFIG_DIR, StrictModel, load_config
from engine.data.prices import PriceParams
from engine.train.habit import HabitParams

#: The shipped training config.
DEFAULT_TRAIN_CONFIG = CONFIG_DIR / "train.toml"


class LightFMParams(StrictModel):
    """Hyper-parameters of a LightFM model (see ``lightfm.LightFM``)."""

    no_components: PositiveInt = 32
    loss: Literal["warp", "bpr", "logistic", "warp-kos"] = "warp"
    epochs: PositiveInt = 10
    #: Extra epochs per later cutoff: the model fitted for one label week continues on the next week's data.
    warm_start_epochs: PositiveInt = 3
    learning_rate: PositiveFloat = 0.05
    item_alpha: float = Field(default=1e-6, ge=0)
    user_alpha: float = Field(default=1e-6, ge=0)
    max_sampled: PositiveInt = 10
    random_state: int = 42
    num_threads: PositiveInt = 2


class FeatureParams(StrictModel):
    """How purchase history becomes features."""

    #: Weight of a week's purchases halves every this many weeks back from the cutoff.
    decay_half_life_weeks: PositiveFloat = 8.0
    #: Weeks counted as "recent" for short-term frequency and popularity features.
    recent_weeks: PositiveInt = 4
    #: Weeks over which category adoption among non-buyers and item popularity are measured.
    popularity_weeks: PositiveInt = 8
    #: Short window for the trend of a category (recent adoption hazard, penetration now vs then).
    trend_weeks: PositiveInt = 2
    #: Added to both penetrations in the trend ratio so that rare categories do not swing it.
    penetration_smoothing: float = Field(default=1e-4, gt=0)
    #: Most similar members (by the categories they buy) whose recent purchases score a stretch category.
    n_neighbours: PositiveInt = 50
    #: Neighbours are searched among at most this many members active before the cutoff (a seeded random
    #: sample when there are more), so the search costs members x pool, not members squared.
    n_neighbour_pool: PositiveInt = 20_000
    #: Seed of the neighbour pool sample (drawn afresh at each cutoff week from this seed and the week).
    neighbour_pool_seed: int = 42
    #: Stretch pairs (members x never-bought categories) are built, scored and cut down to what the
    #: artifact keeps this many members at a time, so memory does not grow with the number of members.
    member_block: PositiveInt = 20_000
    #: A member's own gap between purchase weeks of an item is shrunk towards the item's typical gap as
    #: if this many gaps of that length had been seen (``due_ratio``, see :mod:`engine.train.pairs`).
    repurchase_prior_gaps: PositiveFloat = 2.0
    #: Pseudo-members pulling a demographic level's category buyer share towards the overall share
    #: (``demo_lift``), so that a level with few members does not swing it.
    demo_smoothing: PositiveFloat = 50.0


class SignalParams(StrictModel):
    """Optional side data and the feature groups the rankers read; each group can be switched off.

    The side tables (demographics, promotion calendar, discounts, coupon redemptions) come with Complete
    Journey; a retailer's own data may lack them, and the features are then "unknown" or 0
    (:mod:`engine.train.side`).
    """

    #: ``auto``: Complete Journey's side tables when training on Complete Journey, none otherwise;
    #: ``none``: never read them.
    source: Literal["auto", "none"] = "auto"
    #: Age, income, household size and kids (habitual and stretch rankers; ``demo_lift`` for stretch).
    demographics: bool = True
    #: The same as LightFM member features (an explicit ``unknown`` level for members without answers).
    lightfm_demographics: bool = True
    #: Display and mailer placements of the challenge week (the retailer's planned promotion calendar).
    promotions: bool = True
    #: Each member's share of spend saved by discounts, their coupon redemptions, and per habitual item.
    discounts: bool = True
    #: Repurchase cycles of habitual items (``item_gap``, ``due_ratio``, ``gap_cv``).
    repurchase: bool = True
    #: LightFM's scores as ranker features (off: the rankers see history and side features only).
    lightfm_scores: bool = True
    #: The member x product LightFM model and its scores as habitual features (with ``lightfm_scores``).
    #: Off by default: it costs most of the training time and the habitual pick does not gain from it
    #: (experiments/ablation/report.md); off, the product model is never fitted.
    lightfm_habitual: bool = False


class CandidateParams(StrictModel):
    """Sizes and eligibility of the exported candidate lists."""

    k_habitual: PositiveInt = 20
    k_stretch: PositiveInt = 10
    #: A product is a habitual candidate only if the member bought it in at least this many baskets.
    min_baskets_habitual: PositiveInt = 2
    n_popular_items: PositiveInt = 100
    n_popular_categories: PositiveInt = 50
    #: Stretch categories are ranked by ``score * unit_margin ** margin_exponent``: 1 ranks by expected
    #: margin, 0 by adoption probability alone.
    stretch_margin_exponent: float = Field(default=0.25, ge=0)
    #: ... times ``adopter_spend ** spend_exponent``: what new adopters of the category spend on it over
    #: the habit horizon (:func:`engine.train.categories.adopter_spend`); 0 leaves it out.
    stretch_spend_exponent: float = Field(default=0.0, ge=0)
    #: A stretch category whose adoption probability is below this share of the member's most likely one
    #: is not a candidate (0 keeps all): the rules rank candidates by margin x probability, and a stretch
    #: pick the member is unlikely to adopt earns nothing.
    stretch_min_relative_score: float = Field(default=0.0, ge=0, le=1)


class HistGBParams(StrictModel):
    """Gradient-boosted trees ranker (``sklearn.ensemble.HistGradientBoostingClassifier``)."""

    max_iter: PositiveInt = 100
    learning_rate: PositiveFloat = 0.1
    max_leaf_nodes: PositiveInt = 31
    min_samples_leaf: PositiveInt = 100
    l2_regularization: float = Field(default=1.0, ge=0)


class LogisticParams(StrictModel):
    """Logistic-regression ranker on standardised features."""

    C: PositiveFloat = 1.0
    max_iter: PositiveInt = 500


class RankerParams(StrictModel):
    """The learned ranker on top of LightFM scores and history features."""

    #: ``auto`` fits both kinds on earlier label weeks and keeps the one that ranks best on a later week.
    kind: Literal["auto", "logistic", "hist_gb"] = "auto"
    #: The stretch ranker's kind when it should differ from ``kind`` (none: the same as ``kind``).
    stretch_kind: Literal["auto", "logistic", "hist_gb"] | None = None
    #: Label weeks stacked into the ranker's training set (the weeks just before the cutoff).
    label_weeks: PositiveInt = 2
    #: Habitual hit rate is measured on each member's top-k ranked items when picking the ranker.
    select_k_habitual: PositiveInt = 2
    #: Stretch adoption is measured on each member's top-k categories when picking the ranker.
    select_k_stretch: PositiveInt = 3
    #: Share of negative pairs kept when fitting (positives are all kept; kept negatives are re-weighted by
    #: the inverse share so probabilities stay calibrated). Stretch pairs are ~99% negatives.
    negative_rate_habitual: float = Field(default=1.0, gt=0, le=1)
    negative_rate_stretch: float = Field(default=0.2, gt=0, le=1)
    #: Members whose pairs enter the training data per label week: a seeded random sample (from
    #: ``random_state`` and the week) when more members were active, so training data stays bounded.
    ranker_max_members: PositiveInt = 20_000
    random_state: int = 42
    #: OpenMP/BLAS threads while fitting and scoring the ranker.
    num_threads: PositiveInt = 1
    hist_gb: HistGBParams = Field(default_factory=HistGBParams)
    logistic: LogisticParams = Field(default_factory=LogisticParams)

    @property
    def habitual_kind(self) -> Literal["auto", "logistic", "hist_gb"]:
        """The habitual ranker's kind (``kind``)."""
        return self.kind

    @property
    def stretch_ranker_kind(self) -> Literal["auto", "logistic", "hist_gb"]:
        """The stretch ranker's kind: ``stretch_kind``, else ``kind``."""
        return self.stretch_kind or self.kind

    @property
    def selects(self) -> bool:
        """Whether either ranker is chosen on a validation week (``auto``)."""
        return "auto" in (self.habitual_kind, self.stretch_ranker_kind)


class TrackingParams(StrictModel):
    """Where MLflow records runs and which registered model and alias the run updates."""

    enabled: bool = True
    tracking_uri: str = "sqlite:///mlflow.db"
    artifact_location: str = "./mlartifacts"
    experiment_name: str = "offer-engine-training"
    registered_model_name: str = "star-challenge-candidates"
    alias: str = "champion"


class TrainConfig(StrictModel):
    """Everything ``offers train`` needs besides the data."""

    lightfm: LightFMParams = Field(default_factory=LightFMParams)
    category_lightfm: LightFMParams = Field(default_factory=LightFMParams)
    features: FeatureParams = Field(default_factory=FeatureParams)
    candidates: CandidateParams = Field(default_factory=CandidateParams)
    ranker: RankerParams = Field(default_factory=RankerParams)
    signals: SignalParams = Field(default_factory=SignalParams)
    tracking: TrackingParams = Field(default_factory=TrackingParams)
    #: How prices paid and discount depths are estimated (engine/data/prices.py).
    prices: PriceParams = Field(default_factory=PriceParams)
    #: How a category's habit value is estimated (engine/train/habit.py).
    habit: HabitParams = Field(default_factory=HabitParams)
    #: One sub-folder per model version, plus the ``CHAMPION`` file naming the one to serve.
    artifact_root: Path = Path("artifacts")
    #: Tier thresholds used for the exported members table (same file the data stage reads).
    tiers: Path = CONFIG_DIR / "tiers.toml"
    #: Progress bars on long steps (off in tests).
    progress: bool = True

    @field_validator("tiers")
    @classmethod
    def _relative_to_configs(cls, value: Path) -> Path:
        # Like configs/data.toml: paths to other configs are read relative to the configs folder.
        return value if value.is_absolute() else CONFIG_DIR / value


def load_train_config(path: Path | str = DEFAULT_TRAIN_CONFIG) -> TrainConfig:
    """Read and validate ``configs/train.toml`` (or another file with the same keys).

    Parameters
    ----------
    path
        The TOML file to read.

    Returns
    -------
    TrainConfig
        The validated config; unknown keys and bad values raise :class:`engine.errors.ConfigError`.
    """
    return load_config(path, TrainConfig)
