"""The loyalty programme around the challenge: the ladder stage and the segments of each member.

Public API
    :data:`STAGES`, :class:`LadderConfig`, :class:`SegmentsFile`, :class:`Segment`, :class:`Condition`,
    :func:`load_ladder`, :func:`load_segments`                           ``config.py``
    :class:`LoyaltyInputs`, :func:`member_features`                       ``features.py``
    :func:`assign_stages`, :func:`stage_counts`                           ``stages.py``
    :func:`assign_segments`, :func:`segment_mask`, :func:`segment_counts` ``segments.py``
    :func:`loyalty_table`, :func:`check_loyalty_table`,
    :func:`split_segments`, :data:`LOYALTY_COLUMNS`                       ``table.py``

Data flows one way: the loyalty table is computed at training time from data before the cutoff, travels
in the candidate artifact beside the tier, and rules target by it (:mod:`engine.rules.targets`).
"""

from engine.loyalty.config import (
    STAGES,
    Condition,
    LadderConfig,
    Segment,
    SegmentsFile,
    load_ladder,
    load_segments,
)
from engine.loyalty.features import LoyaltyInputs, member_features
from engine.loyalty.segments import assign_segments, segment_counts, segment_mask
from engine.loyalty.stages import assign_stages, stage_counts
from engine.loyalty.table import LOYALTY_COLUMNS, check_loyalty_table, loyalty_table, split_segments

__all__ = [
    "LOYALTY_COLUMNS",
    "STAGES",
    "Condition",
    "LadderConfig",
    "LoyaltyInputs",
    "Segment",
    "SegmentsFile",
    "assign_segments",
    "assign_stages",
    "check_loyalty_table",
    "load_ladder",
    "load_segments",
    "loyalty_table",
    "member_features",
    "segment_counts",
    "segment_mask",
    "split_segments",
    "stage_counts",
]
