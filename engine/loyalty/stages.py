"""The loyalty ladder: which rung each member stands on, from the data before the cutoff. Pure.

Definitions (thresholds in ``configs/loyalty.toml``, :class:`~engine.loyalty.config.LadderConfig`)
    suspect     in the member file, no purchase before the cutoff, and nothing else known: no profile
                (demographics) and no coupon redemption
    prospect    no purchase before the cutoff, but reached: a profile or a coupon redemption on file
    first_time  at least one and at most ``first_time_max_baskets`` baskets before the cutoff
    repeat      more baskets than that, not (yet) loyal
    loyal       a repeat buyer active in at least ``loyal_min_active_share`` of the last
                ``loyal_window_weeks`` weeks (a week counts when it has a basket)
    advocate    loyal, spending in the top ``advocate_top_spend_share`` of the members who bought in the
                last ``window_weeks`` weeks, and with at least ``advocate_min_coupon_redemptions``
                coupon redemptions in that window: the most valuable members who also act on the
                programme's campaigns

What the data can and cannot tell
    Purchases, their recency and frequency, spend, coupon redemptions and survey profiles are recorded;
    so "first-time", "repeat" and "loyal" rest on behaviour. True advocacy (recommending the retailer,
    referrals, reviews) is not recorded anywhere in the data: ``advocate`` is a proxy, the loyal
    top spenders who engage with campaigns. Suspects and prospects exist only where the member file
    lists members without purchases (Complete Journey lists only households that bought: it has none);
    the data cannot tell an uninterested suspect from a prospect who simply has not been reached, beyond
    the profile and coupon records. A source without a coupon table has no advocates when
    ``advocate_min_coupon_redemptions`` is above 0 (the condition cannot be shown to hold).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from engine.loyalty.config import STAGES, LadderConfig


def assign_stages(features: pd.DataFrame, config: LadderConfig) -> pd.Series:
    """The stage of each member (a row of :func:`~engine.loyalty.features.member_features`)."""
    baskets = features["lifetime_baskets"].to_numpy()
    reached = features["has_profile"].to_numpy(dtype=bool) | (features["coupon_redemptions"].to_numpy() > 0)
    repeat = baskets > config.first_time_max_baskets
    need = math.ceil(config.loyal_min_active_share * config.loyal_window_weeks)
    loyal = repeat & (features["loyal_active_weeks"].to_numpy() >= need)
    spend = features["spend"].to_numpy(dtype="float64")
    buyers = spend[features["baskets"].to_numpy() > 0]
    top = np.quantile(buyers, 1.0 - config.advocate_top_spend_share) if len(buyers) else math.inf
    coupons = features["coupon_redemptions"].to_numpy() >= config.advocate_min_coupon_redemptions
    advocate = loyal & (spend >= top) & (spend > 0) & coupons
    stage = np.select(
        [baskets == 0, baskets <= config.first_time_max_baskets, advocate, loyal],
        [np.where(reached, "prospect", "suspect"), "first_time", "advocate", "loyal"],
        default="repeat",
    )
    return pd.Series(stage, index=features.index, dtype=object, name="stage")


def stage_counts(stages: pd.Series) -> dict[str, int]:
    """Members per stage, every stage listed in ladder order (0 where none)."""
    counts = stages.value_counts()
    return {s: int(counts.get(s, 0)) for s in STAGES}
