"""The API shapes of the loyalty programme: a challenge's options, the pick, and a restored tier."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from engine.challenge import Explanation, HabitualPick, Reward, StretchPick
from engine.challenge.model import Winback


class ChoiceOption(BaseModel):
    """One alternative challenge: its picks, reward, money and explanation."""

    option_id: str
    habitual: list[HabitualPick]
    stretch: StretchPick | None
    reward: Reward | None
    expected_cost: float
    expected_profit: float
    p_complete: float
    trial: bool = False
    explanation: Explanation
    winback: Winback | None = None


class ChoiceOffer(BaseModel):
    """The options a member picks from; ``chosen`` is null until they pick (the answer's top-level
    challenge is then the first option, the default). ``reserved_cost``: what the week's budget holds
    until the pick (the dearest option's expected cost)."""

    options: list[ChoiceOption]
    chosen: str | None
    reserved_cost: float


class RestoredTier(BaseModel):
    """The tier a completed win-back challenge restored, held until ``until_week`` (exclusive)."""

    tier: str
    until_week: int


class ChoiceRequest(BaseModel):
    """The member's pick: one of the answer's ``choice.options[].option_id``."""

    model_config = ConfigDict(extra="forbid")

    option_id: str = Field(min_length=1, max_length=8, pattern=r"^[0-9]+$")
