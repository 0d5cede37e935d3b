"""Which columns the habitual and stretch rankers read, by feature group (``[signals]`` in train.toml).

Every pair carries every column (cheap next to building the pairs); the switches only choose what a
ranker sees, so an ablation can compare groups on the same pairs. An interaction of two groups is read
only when both are on.
"""

from __future__ import annotations

from engine.train.config import SignalParams
from engine.train.pairs import HABITUAL_FEATURES, REPURCHASE_FEATURES
from engine.train.side import DEMO_FEATURES
from engine.train.stretch import STRETCH_FEATURES

LFM_FEATURES: tuple[str, ...] = ("lfm_score", "lfm_rank_pct")
PROMOTION_HABITUAL: tuple[str, ...] = ("item_display", "item_mailer", "item_promo_prior")
PROMOTION_STRETCH: tuple[str, ...] = ("cat_display", "cat_mailer", "suggested_promo")
DISCOUNT_MEMBER: tuple[str, ...] = ("discount_share", "coupon_redemptions")
#: Both promotions and discounts: a promoted item for a member who buys it on discount.
PROMO_X_DISCOUNT_HABITUAL = "promo_x_disc"
PROMO_X_DISCOUNT_STRETCH = "promo_x_sensitivity"


def _history(columns: tuple[str, ...], lightfm: bool) -> tuple[str, ...]:
    return tuple(c for c in columns if lightfm or c not in LFM_FEATURES)


def habitual_lightfm(signals: SignalParams) -> bool:
    """Whether the habitual ranker reads the product LightFM model (else that model is never fitted)."""
    return signals.lightfm_scores and signals.lightfm_habitual


def habitual_features(signals: SignalParams) -> tuple[str, ...]:
    """The habitual ranker's columns under ``signals``' switches."""
    out = list(_history(HABITUAL_FEATURES, habitual_lightfm(signals)))
    if signals.repurchase:
        out += REPURCHASE_FEATURES
    if signals.demographics:
        out += DEMO_FEATURES
    if signals.promotions:
        out += PROMOTION_HABITUAL
    if signals.discounts:
        out += [*DISCOUNT_MEMBER, "item_disc_share"]
    if signals.promotions and signals.discounts:
        out.append(PROMO_X_DISCOUNT_HABITUAL)
    return tuple(out)


def stretch_features(signals: SignalParams) -> tuple[str, ...]:
    """The stretch ranker's columns under ``signals``' switches."""
    out = list(_history(STRETCH_FEATURES, signals.lightfm_scores))
    if signals.demographics:
        out += [*DEMO_FEATURES, "demo_lift"]
    if signals.promotions:
        out += PROMOTION_STRETCH
    if signals.discounts:
        out += DISCOUNT_MEMBER
    if signals.promotions and signals.discounts:
        out.append(PROMO_X_DISCOUNT_STRETCH)
    return tuple(out)
