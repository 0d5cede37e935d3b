"""Settings of ``offers lift estimate``: the model of ``configs/lift_estimate.toml``.

Windows, thresholds and resampling of the estimators in :mod:`engine.lift.campaigns` and
:mod:`engine.lift.promos`, and the rule that turns their results into a lift file
(:mod:`engine.lift.write`).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from engine.config import CONFIG_DIR, StrictModel, load_config

#: The shipped estimator config.
DEFAULT_LIFT_ESTIMATE_CONFIG = CONFIG_DIR / "lift_estimate.toml"

Positive = Annotated[int, Field(ge=1)]
Method = Literal[
    "campaign_all", "campaign_specific", "campaign_targeted_alike", "campaign_redeemers", "promotions"
]
#: Every method, in report order.
METHODS: tuple[Method, ...] = (
    "campaign_all",
    "campaign_specific",
    "campaign_targeted_alike",
    "campaign_redeemers",
    "promotions",
)


class CampaignParams(StrictModel):
    """Campaign difference in differences: recipients vs non-recipients, campaign weeks vs weeks before."""

    #: Weeks of purchases a campaign needs before its pre window ("already buys" / "never bought").
    min_history_weeks: Positive = 8
    #: A campaign window longer than this is cut to its first ``max_window_weeks`` weeks.
    max_window_weeks: Positive = 8
    #: ``campaign_specific`` keeps only coupons covering at most this many products.
    max_products_per_coupon: Positive = 50


class PromotionParams(StrictModel):
    """In-store display and mailer promotions at each household's main store."""

    #: Weeks 1 .. ``history_weeks`` define what a household already buys / never bought.
    history_weeks: Positive = 26
    #: Promoted and unpromoted weeks are compared within blocks of this many weeks (seasonality).
    block_weeks: Positive = 4
    #: A category counts as promoted at a store in a week when at least one of its ``top_products``
    #: most-bought products (by households in the history weeks) is on display or in the mailer there.
    top_products: Positive = 5


class Prior(StrictModel):
    """A documented assumption the lift file keeps for a pick kind where the evidence shows no lift."""

    log_odds: float = Field(allow_inf_nan=False)
    std_error: float = Field(ge=0.0, allow_inf_nan=False)
    source: str = Field(min_length=1)
    method: str = Field(min_length=1)
    documented_on: date


class LiftEstimateConfig(StrictModel):
    """Everything ``offers lift estimate`` needs."""

    #: Purchases in at least this many distinct weeks make a product one the household "already buys".
    habitual_min_weeks: Positive = 2
    #: Household bootstrap resamples (Poisson weights) per method.
    bootstrap_resamples: Positive = 1000
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0)
    seed: int = 20170101
    #: Households sampled for the run (all when None or larger than the data); fixed seed.
    sample_households: Positive | None = None
    #: A department gets its own estimate only with at least this many contributing households.
    min_department_households: Positive = 300
    #: The method whose estimates go to the lift file (the others are reported beside it).
    primary_method: Method = "campaign_specific"
    campaigns: CampaignParams = Field(default_factory=CampaignParams)
    promotions: PromotionParams = Field(default_factory=PromotionParams)
    #: One documented prior per pick kind (``habitual``, ``stretch``).
    priors: dict[Literal["habitual", "stretch"], Prior]
    #: Where the lift file and the report go by default.
    out: Path = CONFIG_DIR / "lifts.toml"
    report_dir: Path = Path("experiments/lift")

    @model_validator(mode="after")
    def _valid(self) -> LiftEstimateConfig:
        missing = sorted({"habitual", "stretch"} - set(self.priors))
        if missing:
            raise ValueError(f"priors: no prior for pick kind(s) {missing}")
        if self.primary_method == "campaign_redeemers":
            raise ValueError(
                "primary_method: campaign_redeemers selects households on the outcome (redeeming means "
                "buying); it is an upper bound for the report, never the lift file's source"
            )
        return self


def load_lift_estimate_config(path: Path | None = None) -> LiftEstimateConfig:
    """Read ``configs/lift_estimate.toml`` (or ``path``)."""
    return load_config(path or DEFAULT_LIFT_ESTIMATE_CONFIG, LiftEstimateConfig)
