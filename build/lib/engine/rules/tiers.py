"""Tier policy: what a tier's reward is and how often a member of that tier may get an offer. Pure.

Gold and diamond members want few offers of high value (DOMAIN.md), so their policies carry more stars
and more weeks between offers; the numbers live in ``configs/rules.toml``.
"""

from __future__ import annotations

from engine.rules.config import RulesConfig, TierPolicy
from engine.rules.outcome import RuleResult


def tier_policy(rules: RulesConfig, tier: str) -> TierPolicy | None:
    """The policy for ``tier``, or ``None`` when the rules have none (the offer is then refused)."""
    return rules.tiers.get(tier)


def check_frequency(policy: TierPolicy, tier: str, week: int, last_offer_week: int | None) -> RuleResult:
    """Whether a member of ``tier`` last offered in ``last_offer_week`` may get an offer in ``week``."""
    gap = policy.min_weeks_between_offers
    if last_offer_week is None:
        return RuleResult("tier_frequency", True, f"{tier}: no earlier offer")
    since = week - last_offer_week
    if since >= gap:
        return RuleResult(
            "tier_frequency", True, f"{tier}: last offer in week {last_offer_week}, {since} week(s) ago"
        )
    return RuleResult(
        "tier_frequency",
        False,
        f"{tier} members get at most one offer every {gap} week(s); last offer was in week {last_offer_week}",
    )


def reward_line(policy: TierPolicy, tier: str, stars: int) -> RuleResult:
    """The explanation line of a reward of ``stars`` for ``tier`` (cut below the full reward or not)."""
    cost = stars * policy.cash_per_star
    text = f"{tier}: {stars} stars x {policy.cash_per_star:.4f} per star = {cost:.2f} cash cost"
    if stars < policy.stars:
        text += (
            f"; cut from the tier's {policy.stars} stars because no eligible picks carry the full reward "
            f"under the hard guard (floor {policy.floor_stars} stars)"
        )
    return RuleResult("tier_reward", True, text)
