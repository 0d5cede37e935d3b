"""The rules a marketer controls, as data: ``configs/rules.toml`` validated by :class:`RulesConfig`.

Unknown keys and bad values are refused with a :class:`~engine.errors.RulesError` naming the file and
the key. The rules version is a content hash of the normalised rules, so two files that mean the same
rules have the same version whatever their layout or comments.

Sections
    eligibility     what may appear in a challenge at all (exclusions, minimum margin, recency)
    hard_guard      the reward never costs more than a share of the picks' gross margin
    economic_guard  expected incremental profit threshold and the assumed lift per pick kind
    tiers           reward and offer frequency per tier (bronze, silver, gold, diamond)
    budget          weekly budget on expected reward cost across members
    search          how many candidates the assembly combines to find a challenge that passes
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Annotated, Literal

import orjson
from pydantic import Field, field_validator, model_validator

from engine.config import CONFIG_DIR, StrictModel, load_config, parse_config
from engine.data.schema import TIERS
from engine.errors import RulesError

#: The shipped rules file.
DEFAULT_RULES_PATH = CONFIG_DIR / "rules.toml"

Share = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
Weeks = Annotated[int, Field(ge=0)]


class RecencyRules(StrictModel):
    """Suppression of items bought recently (durables) and of stretch categories offered recently."""

    durable_departments: tuple[str, ...] = ()
    durable_categories: tuple[str, ...] = ()
    durable_weeks: Weeks = 0
    stretch_repeat_weeks: Weeks = 0


class PromotionRules(StrictModel):
    """No reward stacked on an item whose planned promotion already consumes its margin.

    An item counts as promoted in the challenge week when it is on display or in the mailer in at
    least ``min_store_share`` of the stores; it is then refused when the share of its shelf-price
    margin left at the promotion's expected discount is below ``refuse_when_margin_left_below``
    (the Coke-and-sandwich lesson). A promoted item whose margin cannot be computed is refused too.
    """

    min_store_share: Annotated[float, Field(gt=0.0, le=1.0)] = 0.5
    refuse_when_margin_left_below: Annotated[float, Field(le=1.0, allow_inf_nan=False)] = 0.5


class EligibilityRules(StrictModel):
    """What may appear in a challenge at all."""

    excluded_departments: tuple[str, ...] = ()
    excluded_categories: tuple[str, ...] = ()
    excluded_item_ids: tuple[int | str, ...] = ()
    min_margin_rate: Share = 0.0
    recency: RecencyRules = RecencyRules()
    promotions: PromotionRules = PromotionRules()


class HardGuard(StrictModel):
    """The reward's cash cost may be at most ``max_reward_share`` of the three picks' unit gross margin."""

    max_reward_share: Share


class Lift(StrictModel):
    """Assumed effect of the offer on one pick's purchase probability, until experiments measure it.

    ``absolute``: p_offer = p_base + value; ``relative``: p_offer = p_base * (1 + value); both capped at
    ``max_p_offer``.
    """

    mode: Literal["absolute", "relative"]
    value: NonNegative
    max_p_offer: Share = 1.0


class EconomicGuard(StrictModel):
    """Expected incremental profit of a challenge must be at least ``min_expected_profit``."""

    min_expected_profit: float = Field(allow_inf_nan=False)
    habitual_lift: Lift
    stretch_lift: Lift


class TierPolicy(StrictModel):
    """Reward size and offer frequency for one tier."""

    stars: Annotated[int, Field(gt=0)]
    cash_per_star: Annotated[float, Field(gt=0.0, allow_inf_nan=False)]
    min_weeks_between_offers: Annotated[int, Field(ge=1)] = 1

    @property
    def reward_cost(self) -> float:
        """Cash cost of this tier's reward."""
        return self.stars * self.cash_per_star


class Budget(StrictModel):
    """Weekly budget on expected reward cost (reward cash cost x P(complete)); omitted = unlimited."""

    weekly_expected_cost: NonNegative | None = None


class Search(StrictModel):
    """How many top eligible candidates the assembly combines (bounded so that assembly stays fast)."""

    max_habitual: Annotated[int, Field(ge=2, le=50)] = 6
    max_stretch: Annotated[int, Field(ge=1, le=50)] = 4


class RulesConfig(StrictModel):
    """All rules; see the module docstring for the sections."""

    eligibility: EligibilityRules = EligibilityRules()
    hard_guard: HardGuard
    economic_guard: EconomicGuard
    tiers: dict[str, TierPolicy]
    budget: Budget = Budget()
    search: Search = Search()

    @field_validator("tiers")
    @classmethod
    def _known_tiers(cls, tiers: dict[str, TierPolicy]) -> dict[str, TierPolicy]:
        unknown = sorted(set(tiers) - set(TIERS))
        if unknown:
            raise ValueError(f"unknown tier(s) {unknown}; tiers are {list(TIERS)}")
        missing = [t for t in TIERS if t not in tiers]
        if missing:
            raise ValueError(f"missing tier(s) {missing}; every tier of {list(TIERS)} needs a policy")
        return tiers

    @model_validator(mode="after")
    def _finite(self) -> RulesConfig:
        # pydantic accepts inf for plain floats with a bound; money must be finite to be audited
        if not math.isfinite(self.economic_guard.min_expected_profit):
            raise ValueError("economic_guard.min_expected_profit must be finite")
        return self

    def tier(self, name: str) -> TierPolicy:
        """The policy for tier ``name``; an unknown tier raises :class:`RulesError`."""
        try:
            return self.tiers[name]
        except KeyError as exc:
            raise RulesError(f"no tier policy for tier {name!r}; tiers are {sorted(self.tiers)}") from exc


def rules_version(rules: RulesConfig) -> str:
    """Content hash of the normalised rules (sorted keys, defaults filled in): 12 hex characters."""
    normalised = orjson.dumps(rules.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(normalised).hexdigest()[:12]


def load_rules(path: Path | str = DEFAULT_RULES_PATH) -> RulesConfig:
    """Read and validate a rules file; any problem raises :class:`RulesError` naming file and key."""
    return load_config(path, RulesConfig, RulesError)


def parse_rules(data: dict[str, object], source: str = "<rules>") -> RulesConfig:
    """Validate an already-read mapping (tests, API payloads) with the same messages as files."""
    return parse_config(data, RulesConfig, source, RulesError)
