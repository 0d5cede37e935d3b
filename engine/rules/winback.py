"""Win-back: an easy way back for a member whose trailing spend dropped them a tier. Pure.

DOMAIN.md: when a member drops a tier, getting back must be easy, or they move to a rival programme.
A member who dropped from ``previous_tier`` at most ``max_weeks_since_drop`` weeks before the challenge
week gets a win-back challenge: the tier's picks and guards as usual, the reward optionally set by
``stars`` / ``cash_per_star`` (still under every guard), and completing it restores ``previous_tier``
for ``restore_weeks`` weeks when ``restore_tier`` is on. The explanation says so.

Config (``[winback]`` in ``configs/rules.toml``)::

    enabled = true
    max_weeks_since_drop = 8     # weeks after the drop the offer stays open
    stars = 40                   # optional reward override (default: the member's tier's reward)
    cash_per_star = 0.02         # optional
    restore_tier = true          # completing it restores the previous tier
    restore_weeks = 13           # how long a restored tier holds
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from pydantic import Field

from engine.config import StrictModel
from engine.rules.outcome import RuleResult

if TYPE_CHECKING:
    from engine.rules.config import TierPolicy


class WinbackRules(StrictModel):
    """The ``[winback]`` section; disabled unless ``enabled``."""

    enabled: bool = False
    max_weeks_since_drop: Annotated[int, Field(ge=0)] = 8
    stars: Annotated[int, Field(gt=0)] | None = None
    cash_per_star: Annotated[float, Field(gt=0.0, allow_inf_nan=False)] | None = None
    restore_tier: bool = True
    restore_weeks: Annotated[int, Field(ge=1)] = 13


@dataclass(frozen=True, slots=True)
class WinbackOffer:
    """A member's win-back: the tier to get back to, whether completing restores it, and the words."""

    previous_tier: str
    dropped_week: int
    restores: bool
    restore_weeks: int
    text: str


def winback_offer(
    rules: WinbackRules, tier: str, previous_tier: str | None, dropped_week: int | None, week: int
) -> WinbackOffer | None:
    """The member's win-back offer in ``week``, or ``None`` (disabled, no drop, or the drop is too old).

    A drop recorded after ``week`` (a model trained later than the week served) counts as 0 weeks ago.
    """
    if not rules.enabled or previous_tier is None or dropped_week is None:
        return None
    since = max(week - dropped_week, 0)
    if since > rules.max_weeks_since_drop:
        return None
    if rules.restore_tier:
        text = (
            f"win-back: you were {previous_tier} until week {dropped_week} and are {tier} now; "
            f"complete this to get back to {previous_tier} for {rules.restore_weeks} weeks"
        )
    else:
        text = f"win-back: you were {previous_tier} until week {dropped_week}; this challenge helps you back"
    return WinbackOffer(previous_tier, dropped_week, rules.restore_tier, rules.restore_weeks, text)


def winback_policy(policy: TierPolicy, rules: WinbackRules) -> TierPolicy:
    """The tier's policy with the win-back reward override (the floor follows a lower reward)."""
    stars = policy.stars if rules.stars is None else rules.stars
    cash = policy.cash_per_star if rules.cash_per_star is None else rules.cash_per_star
    floor = None if policy.min_stars is None else min(policy.min_stars, stars)
    return policy.model_copy(update={"stars": stars, "cash_per_star": cash, "min_stars": floor})


def winback_line(offer: WinbackOffer, tier: str) -> RuleResult:
    """The explanation's rule line for a win-back challenge."""
    since = f"dropped from {offer.previous_tier} to {tier} in week {offer.dropped_week}"
    return RuleResult("winback", True, f"{since}; {offer.text}")


def restored_tier(
    tier: str, restoration: tuple[str, int] | None, week: int, tiers: tuple[str, ...]
) -> str | None:
    """The tier a recorded restoration ``(tier, until_week)`` gives in ``week``, when above ``tier``."""
    if restoration is None:
        return None
    restored, until = restoration
    if week >= until or restored not in tiers or tier not in tiers:
        return None
    return restored if tiers.index(restored) > tiers.index(tier) else None
