"""Margin rates and offer exclusions for catalog items, from ``configs/margins.toml``.

Grocery data rarely carries costs, so gross margin is an assumption a marketer states per department,
refines per category and overrides per item; the most specific key wins
(item > category > department > default). Exclusions (fuel, tobacco, gift cards, coupons...) are the
union of the department, category and item lists: an item excluded at any level never carries an offer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
from pydantic import Field

from engine.config import CONFIG_DIR, StrictModel, load_config
from engine.data.schema import CATEGORY, DEPARTMENT, EXCLUDED, ITEM_ID, MARGIN_RATE

#: A gross margin as a share of the price: 0 means sold at cost; 1 (free goods) is not a margin.
Rate = Annotated[float, Field(ge=0.0, lt=1.0)]


class Exclusions(StrictModel):
    """Items that must never carry an offer, listed by department, category or item id."""

    departments: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    items: list[str | int] = Field(default_factory=list)


class MarginsConfig(StrictModel):
    """Margin-rate assumptions and exclusions; see the comments in ``configs/margins.toml``."""

    default: Rate
    departments: dict[str, Rate] = Field(default_factory=dict)
    categories: dict[str, Rate] = Field(default_factory=dict)
    items: dict[str, Rate] = Field(default_factory=dict)
    exclude: Exclusions = Field(default_factory=Exclusions)


def load_margins_config(path: Path | str = CONFIG_DIR / "margins.toml") -> MarginsConfig:
    """Read and validate a margins file; rates outside [0, 1) and unknown keys raise ``ConfigError``."""
    return load_config(path, MarginsConfig)


def apply_margins(catalog: pd.DataFrame, config: MarginsConfig) -> pd.DataFrame:
    """Return a copy of ``catalog`` with ``margin_rate`` and ``excluded`` filled from ``config``.

    A ``margin_rate`` already in the catalog (the retailer's own cost data) is kept where present, except
    that an item override in the config always wins: it is the marketer's explicit word. An ``excluded``
    flag already in the catalog is combined (logical or) with the config's exclusions.

    Parameters
    ----------
    catalog
        Needs ``item_id``, ``category`` and ``department``; may carry ``margin_rate`` and ``excluded``.
    config
        The validated margins config.
    """
    out = catalog.copy()
    item_keys = out[ITEM_ID].astype("str")
    rate = pd.Series(config.default, index=out.index, dtype="float64")
    rate = out[DEPARTMENT].map(config.departments).astype("float64").fillna(rate)
    rate = out[CATEGORY].map(config.categories).astype("float64").fillna(rate)
    if MARGIN_RATE in out.columns:
        rate = out[MARGIN_RATE].astype("float64").fillna(rate)
    rate = item_keys.map(config.items).astype("float64").fillna(rate)
    out[MARGIN_RATE] = rate.to_numpy()

    excluded = (
        out[DEPARTMENT].isin(config.exclude.departments)
        | out[CATEGORY].isin(config.exclude.categories)
        | item_keys.isin([str(i) for i in config.exclude.items])
    )
    if EXCLUDED in out.columns:
        excluded = excluded | out[EXCLUDED].fillna(False).astype(bool)
    out[EXCLUDED] = excluded.to_numpy(dtype=bool)
    return out


def unmatched_keys(catalog: pd.DataFrame, config: MarginsConfig) -> list[str]:
    """Config keys that match no catalog row: usually a typo, shown by ``offers data check``."""
    departments = set(catalog[DEPARTMENT].dropna().unique())
    categories = set(catalog[CATEGORY].dropna().unique())
    items = set(catalog[ITEM_ID].astype("str"))
    out = [f"departments.{k}" for k in config.departments if k not in departments]
    out += [f"categories.{k}" for k in config.categories if k not in categories]
    out += [f"items.{k}" for k in config.items if k not in items]
    out += [f"exclude.departments: {k}" for k in config.exclude.departments if k not in departments]
    out += [f"exclude.categories: {k}" for k in config.exclude.categories if k not in categories]
    out += [f"exclude.items: {k}" for k in config.exclude.items if str(k) not in items]
    return out
