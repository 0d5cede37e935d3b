"""Rewards that vary over time within bounds rather than repeating the same offer. Pure.

DOMAIN.md: vary rewards over time. Each member-week gets a deterministic factor in
``[min_factor, max_factor]`` from a hash of the member id and the week (no global random state, so a
week's challenge is reproducible anywhere); the tier's stars are scaled by it and rounded. The varied
reward then goes through the search and every guard like any other (the hard guard may still cut it to
the floor; the economic guard is checked on the varied cost), so no variation can lose money.

Config (``[reward_variation]``)::

    enabled = true
    min_factor = 0.8
    max_factor = 1.2
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Annotated

from pydantic import Field

from engine.config import StrictModel

if TYPE_CHECKING:
    from engine.rules.config import TierPolicy

#: Hash range: the first 8 bytes of SHA-256 as an unsigned integer.
_HASH_SPAN = float(2**64)


class RewardVariation(StrictModel):
    """The ``[reward_variation]`` section; off unless ``enabled``. ``min_factor <= 1 <= max_factor``."""

    enabled: bool = False
    min_factor: Annotated[float, Field(gt=0.0, le=1.0, allow_inf_nan=False)] = 0.8
    max_factor: Annotated[float, Field(ge=1.0, le=3.0, allow_inf_nan=False)] = 1.2


def variation_factor(member_id: int | str, week: int, variation: RewardVariation) -> float:
    """The member-week's factor in ``[min_factor, max_factor]``: a hash of id and week, uniform."""
    digest = hashlib.sha256(f"reward-variation:{member_id}:{week}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / _HASH_SPAN
    return variation.min_factor + u * (variation.max_factor - variation.min_factor)


def varied_policy(
    policy: TierPolicy, member_id: int | str, week: int, variation: RewardVariation
) -> TierPolicy:
    """``policy`` with the member-week's varied stars (at least 1; the floor never above them)."""
    if not variation.enabled:
        return policy
    stars = max(1, round(policy.stars * variation_factor(member_id, week, variation)))
    floor = None if policy.min_stars is None else min(policy.min_stars, stars)
    return policy.model_copy(update={"stars": stars, "min_stars": floor})
