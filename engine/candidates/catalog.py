"""The item catalog as the rules see it: :class:`ItemInfo` per item and the :class:`Catalog` lookup by id."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from engine.artifact import OPTIONAL_COLUMNS, CandidateArtifact
from engine.candidates.records import Id
from engine.data.schema import (
    CATALOG_COLUMNS,
    CATEGORY,
    DEPARTMENT,
    EXCLUDED,
    ITEM_ID,
    MARGIN_RATE,
    NAME,
    PRICE,
)
from engine.errors import ArtifactError

#: Optional item fields and the value an artifact without them gives (see engine.artifact).
ITEM_DEFAULTS: dict[str, float] = dict(OPTIONAL_COLUMNS["items"])


@dataclass(frozen=True, slots=True)
class ItemInfo:
    """One catalog item as the rules see it.

    ``price`` is what members are expected to pay in the challenge week (net of the loyalty discount
    and of the planned promotion, :mod:`engine.data.prices`) and ``margin_rate`` the net margin / that
    price. The optional fields default to "unknown cost, no promotion, no habit value" for artifacts
    written before them:

    shelf_price, unit_cost
        The regular price before any discount and the unit cost (NaN when unknown).
    loyalty_discount_share
        Everyday share of the shelf price the loyalty card takes off.
    promo_discount_share
        Expected share of the shelf price taken off when the item is promoted (display or mailer).
    promo_store_share, promo_display_share, promo_mailer_share
        Share of stores with the item on display or in the mailer in the challenge week, and its parts.
    repeat_margin, repeat_share
        The item's category habit value (:mod:`engine.train.habit`): mean net margin of adopters' repeat
        purchases over the horizon, and the share of adopters who buy it again.
    adopter_spend
        What new adopters of the item's category spend on it over the adoption week and the habit
        horizon (:func:`engine.train.categories.adopter_spend`); NaN when unknown.
    """

    item_id: Id
    name: str
    category: str
    department: str
    price: float
    margin_rate: float
    excluded: bool
    shelf_price: float = math.nan
    unit_cost: float = math.nan
    loyalty_discount_share: float = 0.0
    promo_discount_share: float = 0.0
    promo_store_share: float = 0.0
    promo_display_share: float = 0.0
    promo_mailer_share: float = 0.0
    repeat_margin: float = 0.0
    repeat_share: float = 0.0
    adopter_spend: float = math.nan

    def __post_init__(self) -> None:
        # A JSON round trip (the serving catalog blob) writes NaN as null: read it back as NaN.
        for name in ("price", "margin_rate", *ITEM_DEFAULTS):
            if getattr(self, name) is None:
                object.__setattr__(self, name, math.nan)

    @property
    def unit_margin(self) -> float:
        """Net margin of one unit at the price paid (NaN when price or margin rate is unknown)."""
        return self.price * self.margin_rate

    @property
    def promo_margin_left(self) -> float:
        """Share of the shelf-price margin left at the promotion's price (NaN when the cost is unknown).

        ``1 - promo_discount_share x shelf_price / (shelf_price - unit_cost)``: 1 when a promotion takes
        nothing off, 0 when it takes the whole margin, negative when it sells below cost.
        """
        margin = self.shelf_price - self.unit_cost
        if not margin > 0:  # NaN or no margin at the shelf price: nothing can be left
            return math.nan if math.isnan(margin) else -math.inf
        return 1.0 - self.promo_discount_share * self.shelf_price / margin

    def to_dict(self) -> dict[str, Any]:
        """Plain dict with the field names."""
        return {
            "item_id": self.item_id,
            "name": self.name,
            "category": self.category,
            "department": self.department,
            "price": self.price,
            "margin_rate": self.margin_rate,
            "excluded": self.excluded,
            "shelf_price": self.shelf_price,
            "unit_cost": self.unit_cost,
            "loyalty_discount_share": self.loyalty_discount_share,
            "promo_discount_share": self.promo_discount_share,
            "promo_store_share": self.promo_store_share,
            "promo_display_share": self.promo_display_share,
            "promo_mailer_share": self.promo_mailer_share,
            "repeat_margin": self.repeat_margin,
            "repeat_share": self.repeat_share,
            "adopter_spend": self.adopter_spend,
        }


class Catalog:
    """Item lookup by id, built once from the artifact's ``items`` table (or any catalog frame)."""

    def __init__(self, items: Mapping[Id, ItemInfo]) -> None:
        self._items = dict(items)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> Catalog:
        """Build from a frame with the catalog columns (see :mod:`engine.data.schema`)."""
        missing = [c for c in CATALOG_COLUMNS if c not in frame]
        if missing:
            raise ArtifactError(f"items table: missing columns {missing}")
        columns = [
            frame[ITEM_ID].tolist(),
            frame[NAME].astype(object).where(frame[NAME].notna(), "").astype(str).tolist(),
            frame[CATEGORY].astype(object).where(frame[CATEGORY].notna(), "").astype(str).tolist(),
            frame[DEPARTMENT].astype(object).where(frame[DEPARTMENT].notna(), "").astype(str).tolist(),
            pd.to_numeric(frame[PRICE], errors="coerce").astype(float).tolist(),
            pd.to_numeric(frame[MARGIN_RATE], errors="coerce").astype(float).tolist(),
            frame[EXCLUDED].fillna(True).astype(bool).tolist(),
        ]
        for name, default in ITEM_DEFAULTS.items():
            # ItemInfo's optional fields follow the catalog columns in this order
            values = frame[name] if name in frame else pd.Series(default, index=frame.index)
            columns.append(pd.to_numeric(values, errors="coerce").astype(float).fillna(default).tolist())
        return cls({row[0]: ItemInfo(*row) for row in zip(*columns, strict=True)})

    @classmethod
    def from_artifact(cls, artifact: CandidateArtifact) -> Catalog:
        """The artifact's items table as a catalog."""
        return cls.from_frame(artifact.items)

    def get(self, item_id: Id) -> ItemInfo | None:
        """The item, or ``None`` when the catalog does not know it."""
        return self._items.get(item_id)

    def __getitem__(self, item_id: Id) -> ItemInfo:
        try:
            return self._items[item_id]
        except KeyError as exc:
            raise ArtifactError(f"item {item_id!r} is not in the catalog") from exc

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._items

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[ItemInfo]:
        return iter(self._items.values())
