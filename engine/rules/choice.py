"""Choice rather than an imposed reward: which members are offered alternatives, and how many. Pure.

DOMAIN.md: offer choices rather than a single imposed reward. For the tiers listed, issuance offers up
to ``options`` alternative challenges, each passing every guard on its own, with distinct stretch
categories (so the options really differ); the member picks one. Until the member picks, the week's
budget reserves the most expensive option's expected cost; the pick releases the difference.

Config (``[choice]``)::

    tiers = ["gold", "diamond"]   # who gets a choice (empty: nobody)
    options = 3                   # 2 or 3
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator

from engine.config import StrictModel
from engine.data.schema import TIERS


class ChoiceRules(StrictModel):
    """The ``[choice]`` section; no tier listed means no choice for anyone."""

    tiers: tuple[str, ...] = ()
    options: Annotated[int, Field(ge=2, le=3)] = 3

    @field_validator("tiers")
    @classmethod
    def _known(cls, tiers: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(tiers) - set(TIERS))
        if unknown:
            raise ValueError(f"unknown tier(s) {unknown}; tiers are {list(TIERS)}")
        return tiers


def options_for(rules: ChoiceRules, tier: str) -> int:
    """How many options a member of ``tier`` is offered (1: no choice, the one best challenge)."""
    return rules.options if tier in rules.tiers else 1
