"""One member's weekly star challenge: two habitual products, one stretch category and a reward.

:func:`assemble_challenge` picks, among the member's eligible candidates, the combination with the best
expected incremental profit that passes every rule; if none does, it returns an explicit ``no_offer``
with the reason (never a money-losing fallback). :func:`assemble_batch` does so for every member of an
artifact and then applies the weekly budget across members.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict

from engine.candidates import Catalog, Id, MemberCandidates

if TYPE_CHECKING:
    from engine.artifact import CandidateArtifact
    from engine.rules.config import RulesConfig

Status = Literal["issued", "no_offer"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class HabitualPick(_Frozen):
    """A product the member buys again and again; ``margin`` is the unit gross margin at shelf price."""

    item_id: Id
    name: str
    category: str
    price: float
    margin: float
    p_base: float
    p_offer: float


class StretchPick(_Frozen):
    """The new category, with the product suggested in it."""

    category: str
    item_id: Id
    name: str
    price: float
    margin: float
    p_base: float
    p_offer: float


class Reward(_Frozen):
    """Bonus stars for completing the challenge and what they cost the business in cash."""

    stars: int
    cash_cost: float


class RuleOutcome(_Frozen):
    """One rule's verdict for the explanation: ``passed`` False means the rule fired."""

    rule: str
    passed: bool
    detail: str


class Explanation(_Frozen):
    """Why each pick, the money arithmetic, and which rules passed or fired."""

    picks: list[str]
    arithmetic: str
    rules: list[RuleOutcome]


class Challenge(_Frozen):
    """The challenge for one member and week, or an explicit ``no_offer`` with its reason.

    ``reason_code`` is the machine-readable rule name (``"issued"`` when issued); ``reason`` says why in
    words. Money: ``expected_cost`` = reward cash cost x ``p_complete``; ``expected_profit`` = sum of
    unit margin x (p_offer - p_base) over the three picks minus ``expected_cost``.
    """

    member_id: Id
    week: int
    tier: str
    status: Status
    reason_code: str
    reason: str
    habitual: list[HabitualPick]
    stretch: StretchPick | None
    reward: Reward | None
    expected_cost: float
    expected_profit: float
    p_complete: float
    explanation: Explanation
    model_version: str
    rules_version: str


@dataclass(frozen=True)
class MemberHistory:
    """What earlier weeks offered one member: stretch categories with the week offered, last offer week."""

    stretch_weeks: Mapping[str, int] = field(default_factory=dict)
    last_offer_week: int | None = None


#: Stable leading columns of :func:`challenges_frame` (the file judged from outside the code).
FRAME_COLUMNS: tuple[str, ...] = (
    "member_id",
    "week",
    "habitual_1",
    "habitual_2",
    "stretch_category",
    "stretch_product",
    "reward_cost",
    "expected_profit",
    "status",
    "reason",
)


def assemble_challenge(
    member: MemberCandidates,
    catalog: Catalog,
    rules: RulesConfig,
    week: int,
    *,
    history: MemberHistory | None = None,
    model_version: str,
    rules_version: str,
) -> Challenge:
    """The best rule-abiding challenge for ``member`` in ``week``, or a ``no_offer`` with the reason."""
    raise NotImplementedError


def assemble_batch(
    artifact: CandidateArtifact,
    rules: RulesConfig,
    week: int,
    history: Mapping[Id, MemberHistory] | None = None,
) -> list[Challenge]:
    """Every member's challenge for ``week``, with the weekly budget applied across members."""
    raise NotImplementedError


def challenges_frame(challenges: Sequence[Challenge]) -> pd.DataFrame:
    """One row per challenge with the stable columns :data:`FRAME_COLUMNS` first."""
    raise NotImplementedError
