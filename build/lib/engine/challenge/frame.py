"""Challenges as a table: the file ``offers challenges --out`` writes, with columns that never change."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from engine.candidates import Id
from engine.challenge.model import Challenge

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


def _id_column(values: list[Id | None]) -> pd.Series:
    """Ids as the source typed them: nullable integers when every id is an int, else strings."""
    present = [v for v in values if v is not None]
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return pd.Series(values, dtype="Int64")
    return pd.Series([None if v is None else str(v) for v in values], dtype="string")


def challenges_frame(challenges: Sequence[Challenge]) -> pd.DataFrame:
    """One row per challenge with the stable columns :data:`FRAME_COLUMNS` first, then extras."""
    h1 = [c.habitual[0].item_id if c.habitual else None for c in challenges]
    h2 = [c.habitual[1].item_id if len(c.habitual) > 1 else None for c in challenges]
    frame = pd.DataFrame(
        {
            "member_id": _id_column([c.member_id for c in challenges]),
            "week": pd.Series([c.week for c in challenges], dtype="int64"),
            "habitual_1": _id_column(h1),
            "habitual_2": _id_column(h2),
            "stretch_category": pd.Series(
                [c.stretch.category if c.stretch else None for c in challenges], dtype="string"
            ),
            "stretch_product": _id_column([c.stretch.item_id if c.stretch else None for c in challenges]),
            "reward_cost": pd.Series(
                [c.reward.cash_cost if c.reward else 0.0 for c in challenges], dtype=float
            ),
            "expected_profit": pd.Series([c.expected_profit for c in challenges], dtype=float),
            "status": pd.Series([c.status for c in challenges], dtype="string"),
            "reason": pd.Series([c.reason for c in challenges], dtype="string"),
            "reason_code": pd.Series([c.reason_code for c in challenges], dtype="string"),
            "tier": pd.Series([c.tier for c in challenges], dtype="string"),
            "reward_stars": pd.Series([c.reward.stars if c.reward else 0 for c in challenges], dtype="int64"),
            "expected_cost": pd.Series([c.expected_cost for c in challenges], dtype=float),
            "p_complete": pd.Series([c.p_complete for c in challenges], dtype=float),
            "model_version": pd.Series([c.model_version for c in challenges], dtype="string"),
            "rules_version": pd.Series([c.rules_version for c in challenges], dtype="string"),
        }
    )
    return frame
