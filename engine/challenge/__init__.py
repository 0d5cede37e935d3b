"""The weekly star challenge: two habitual products, one stretch category and a reward.

Public API
    :class:`Challenge` (with :class:`HabitualPick`, :class:`StretchPick`, :class:`Reward`,
    :class:`Explanation`, :class:`RuleOutcome`) and :func:`no_offer`        ``model.py``
    :func:`assemble_challenge` (search, verify, build), :func:`habit_value`  ``assemble.py``
    :func:`allocate_week` (budgets and their shadow prices), :func:`apply_budget`,
    :func:`assemble_week` (with the shadow prices),
    :func:`assemble_batch`                                                  ``week.py``
    :func:`challenges_frame` and :data:`FRAME_COLUMNS`                      ``frame.py``
    :class:`MemberHistory` (what the rules remember of a member's offers), re-exported from the rules.
"""

from engine.challenge.assemble import assemble_challenge, habit_value
from engine.challenge.frame import FRAME_COLUMNS, challenges_frame
from engine.challenge.model import (
    Challenge,
    Explanation,
    HabitualPick,
    Reward,
    RuleOutcome,
    Status,
    StretchPick,
    no_offer,
)
from engine.challenge.week import allocate_week, apply_budget, assemble_batch, assemble_week
from engine.rules.history import MemberHistory

__all__ = [
    "FRAME_COLUMNS",
    "Challenge",
    "Explanation",
    "HabitualPick",
    "MemberHistory",
    "Reward",
    "RuleOutcome",
    "Status",
    "StretchPick",
    "allocate_week",
    "apply_budget",
    "assemble_batch",
    "assemble_challenge",
    "assemble_week",
    "challenges_frame",
    "habit_value",
    "no_offer",
]
