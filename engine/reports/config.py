"""The model of ``configs/reports.toml``: windows, list sizes and thresholds of every marketer report."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from engine.config import CONFIG_DIR, StrictModel, load_config

DEFAULT_REPORTS_CONFIG = CONFIG_DIR / "reports.toml"


class GroupParams(StrictModel):
    """How members are grouped (:func:`engine.reports.groups.member_groups`)."""

    active_weeks: int = Field(ge=1)
    unknown: str = Field(min_length=1)


class SellersParams(StrictModel):
    """Best and worst sellers by sales, margin and trend."""

    weeks: int = Field(ge=1)
    top_n: int = Field(ge=1)
    trend_weeks: int = Field(ge=1)
    min_trend_baskets: int = Field(ge=1)
    min_active_weeks: int = Field(ge=1)


class BasketParams(StrictModel):
    """Basket sizes, department mix and category pairs."""

    weeks: int = Field(ge=1)
    max_size_bin: int = Field(ge=2)
    min_pair_baskets: int = Field(ge=1)
    top_pairs: int = Field(ge=1)


class ConcentrationParams(StrictModel):
    """Share of sales from the top members, Lorenz curve and Gini."""

    weeks: int = Field(ge=1)
    top_share: float = Field(gt=0, lt=1)


class WeeklySalesParams(StrictModel):
    """Weekly sales by department."""

    top_departments: int = Field(ge=1)


class OffersParams(StrictModel):
    """Offer economics and fairness: how completion is measured."""

    completion_window_weeks: int = Field(ge=1)


class FairnessParams(StrictModel):
    """When a gap in value received between groups is flagged."""

    max_ratio: float = Field(gt=1)
    confidence: float = Field(gt=0, lt=1)
    min_group_members: int = Field(ge=1)
    by_design: tuple[str, ...] = ()


class ReportsConfig(StrictModel):
    """The whole of ``configs/reports.toml``."""

    out_dir: Path
    markdown_rows: int = Field(ge=1)
    dpi: int = Field(ge=30, le=600)
    groups: GroupParams
    sellers: SellersParams
    basket: BasketParams
    concentration: ConcentrationParams
    weekly_sales: WeeklySalesParams
    offers: OffersParams
    fairness: FairnessParams


def load_reports_config(path: Path | str = DEFAULT_REPORTS_CONFIG) -> ReportsConfig:
    """Read and validate a reports file; unknown keys or bad values raise ``ConfigError`` naming them."""
    return load_config(path, ReportsConfig)
