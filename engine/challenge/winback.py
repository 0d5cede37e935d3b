"""The member-specific reward policy of one challenge: win-back after a tier drop, varied rewards.

:func:`member_policy` is the one place assembly turns a tier's policy into this member-week's: a
member who recently dropped a tier gets the win-back reward (:mod:`engine.rules.winback`), and every
reward may vary within the configured bounds (:mod:`engine.rules.variation`). Both happen before the
search, so the guards check the reward actually offered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.challenge.model import Fields
from engine.rules.outcome import RuleResult
from engine.rules.variation import varied_policy
from engine.rules.winback import WinbackOffer, winback_line, winback_offer, winback_policy

if TYPE_CHECKING:
    from engine.candidates import MemberCandidates
    from engine.rules.config import RulesConfig, TierPolicy


def member_policy(
    policy: TierPolicy, member: MemberCandidates, rules: RulesConfig, week: int
) -> tuple[TierPolicy, WinbackOffer | None]:
    """The policy for ``member`` in ``week`` and their win-back offer (``None``: not a win-back)."""
    drop = member.drop
    offer = (
        None
        if drop is None
        else winback_offer(rules.winback, member.tier, drop.previous_tier, drop.dropped_week, week)
    )
    if offer is not None:
        policy = winback_policy(policy, rules.winback)
    return varied_policy(policy, member.member_id, week, rules.reward_variation), offer


def winback_fields(
    offer: WinbackOffer | None, member: MemberCandidates
) -> tuple[Fields | None, list[RuleResult]]:
    """The challenge's ``winback`` field and its explanation line (nothing for other challenges)."""
    if offer is None:
        return None, []
    fields = {
        "previous_tier": offer.previous_tier,
        "dropped_week": offer.dropped_week,
        "restores_tier": offer.restores,
        "restore_weeks": offer.restore_weeks,
        "message": offer.text,
    }
    return fields, [winback_line(offer, member.tier)]
