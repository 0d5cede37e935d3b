"""The per-member loyalty table the candidate artifact carries: stage and segments beside the tier.

``member_loyalty.parquet`` (optional artifact table): ``member_id``, ``stage`` (one of
:data:`~engine.loyalty.config.STAGES`), ``segments`` (names joined by commas, file order; empty: none),
``segments_version`` (the segments file's ``version`` and content hash). :func:`check_loyalty_table`
validates it when an artifact is read.
"""

from __future__ import annotations

import pandas as pd

from engine.data.schema import MEMBER_ID
from engine.errors import InvalidArtifact
from engine.loyalty.config import STAGES, LadderConfig, SegmentsFile, valid_segment_name
from engine.loyalty.features import LoyaltyInputs, member_features
from engine.loyalty.segments import assign_segments, fields_needed
from engine.loyalty.stages import assign_stages

LOYALTY_COLUMNS: tuple[str, ...] = (MEMBER_ID, "stage", "segments", "segments_version")
#: How many offending rows an error names.
_EXAMPLES = 5


def join_segments(names: tuple[str, ...]) -> str:
    """Segment names as the table stores them."""
    return ",".join(names)


def split_segments(text: str | None) -> tuple[str, ...]:
    """Inverse of :func:`join_segments` (``None`` or empty: no segment)."""
    return tuple(text.split(",")) if text else ()


def loyalty_table(
    inputs: LoyaltyInputs, as_of_week: int, ladder: LadderConfig, segments: SegmentsFile
) -> pd.DataFrame:
    """Stage and segments of every member, from data strictly before ``as_of_week``."""
    departments, demographics = fields_needed(segments)
    features = member_features(
        inputs,
        as_of_week,
        segments.window_weeks,
        ladder.loyal_window_weeks,
        departments=departments,
        demographics=demographics,
    )
    if segments.window_weeks != ladder.window_weeks:
        # the ladder's advocate test reads spend over its own window
        ladder_view = member_features(inputs, as_of_week, ladder.window_weeks, ladder.loyal_window_weeks)
        stages = assign_stages(ladder_view, ladder)
    else:
        stages = assign_stages(features, ladder)
    features = features.assign(stage=stages)
    member_segments = assign_segments(features, segments)
    return pd.DataFrame(
        {
            MEMBER_ID: features.index.to_numpy(),
            "stage": stages.to_numpy(),
            "segments": [join_segments(s) for s in member_segments],
            "segments_version": f"{segments.version}+{segments.content_hash}",
        }
    )


def check_loyalty_table(frame: pd.DataFrame, where: str) -> None:
    """Raise :class:`InvalidArtifact` naming the file and column when the table is malformed."""
    missing = [c for c in LOYALTY_COLUMNS if c not in frame.columns]
    if missing:
        raise InvalidArtifact(f"{where}: missing columns {missing}")
    dup = frame[MEMBER_ID].duplicated()
    if dup.any():
        raise InvalidArtifact(
            f"{where}: column 'member_id': {int(dup.sum())} duplicate(s), e.g. "
            f"{frame.loc[dup, MEMBER_ID].head(_EXAMPLES).tolist()}"
        )
    bad_stage = ~frame["stage"].isin(STAGES)
    if bad_stage.any():
        raise InvalidArtifact(
            f"{where}: column 'stage': {int(bad_stage.sum())} row(s) not in {list(STAGES)}, e.g. "
            f"{frame.loc[bad_stage, 'stage'].head(_EXAMPLES).tolist()}"
        )
    text = frame["segments"].fillna("").astype(str)
    bad_seg = ~text.map(lambda s: all(valid_segment_name(n) for n in split_segments(s)))
    if bad_seg.any():
        raise InvalidArtifact(
            f"{where}: column 'segments': {int(bad_seg.sum())} row(s) are not comma-separated segment "
            f"names, e.g. {text[bad_seg].head(_EXAMPLES).tolist()}"
        )
