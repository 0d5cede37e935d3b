"""What a member is offered in a week: two habitual products, one stretch category and a reward.

:class:`Challenge` is the one shape every stage shares (batch, serving, backtest, experiments), and
:func:`no_offer` the one way to build "no offer this week" with its reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from engine.candidates import HabitualCandidate, Id, ItemInfo, StretchCandidate
from engine.rules.outcome import RuleResult

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
    """The new category, with the product suggested in it (a hint: any product of the category counts).

    ``habit_value`` is the margin adopters of the category go on to spend on it (0 when not counted).
    """

    category: str
    item_id: Id
    name: str
    price: float
    margin: float
    p_base: float
    p_offer: float
    habit_value: float = 0.0


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
    value x (p_offer - p_base) over the three picks minus ``expected_cost`` (value: the unit margin, plus
    the habit value for the stretch category). ``trial``: a pick's lift is only a prior, so the challenge
    belongs to the bounded trial that measures it.
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
    trial: bool = False
    explanation: Explanation
    model_version: str
    rules_version: str


Candidate = HabitualCandidate | StretchCandidate

# Assembly builds plain dicts and validates the whole challenge once: one pass through pydantic's core
# is several times cheaper than constructing each nested model on its own.
Fields = dict[str, Any]


def _outcomes(results: Sequence[RuleResult]) -> list[Fields]:
    return [{"rule": r.rule, "passed": r.passed, "detail": r.detail} for r in results]


def no_offer(
    member_id: Id,
    tier: str,
    week: int,
    code: str,
    reason: str,
    results: Sequence[RuleResult],
    arithmetic: str,
    versions: tuple[str, str],
) -> Challenge:
    """The one way to say "no offer this week": the rule that fired, why, and the rules seen so far."""
    return Challenge.model_validate(
        {
            "member_id": member_id,
            "week": week,
            "tier": tier,
            "status": "no_offer",
            "reason_code": code,
            "reason": reason,
            "habitual": [],
            "stretch": None,
            "reward": None,
            "expected_cost": 0.0,
            "expected_profit": 0.0,
            "p_complete": 0.0,
            "explanation": {"picks": [], "arithmetic": arithmetic, "rules": _outcomes(results)},
            "model_version": versions[0],
            "rules_version": versions[1],
        }
    )


def _pick(category: str, item: ItemInfo, p_base: float, p_offer: float) -> Fields:
    """A habitual or stretch pick's fields (the two models share them)."""
    return {
        "item_id": item.item_id,
        "name": item.name,
        "category": category,
        "price": item.price,
        "margin": item.unit_margin,
        "p_base": p_base,
        "p_offer": p_offer,
    }
