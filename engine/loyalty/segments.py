"""Segments as data: which of the file's named segments each member is in. Pure.

A member is in every segment whose conditions all hold (see the condition language in
:mod:`engine.loyalty.config`), so a member may be in several; their segments are listed in file order.
How overlapping segments are targeted is the rules' business: the first matching ``[[targets]]`` entry
of the rules file applies (:mod:`engine.rules.targets`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.loyalty.config import DEMO_PREFIX, SHARE_PREFIX, Condition, Segment, SegmentsFile

BoolArray = np.ndarray


def _mask(column: pd.Series, cond: Condition) -> BoolArray:
    """Members for whom ``cond`` holds; an unknown value (NaN, None) holds only for ``!=`` / ``not_in``."""
    known = column.notna().to_numpy()
    values = cond.value if isinstance(cond.value, list) else [cond.value]
    if cond.op in ("in", "not_in", "==", "!="):
        hit = column.isin(values).to_numpy() & known
        return ~hit if cond.op in ("!=", "not_in") else hit
    x = pd.to_numeric(column, errors="coerce").to_numpy(dtype="float64")
    v = float(values[0])
    with np.errstate(invalid="ignore"):
        out = {"<": x < v, "<=": x <= v, ">": x > v, ">=": x >= v}[cond.op]
    return np.asarray(out & known, dtype=bool)


def segment_mask(features: pd.DataFrame, segment: Segment) -> BoolArray:
    """Members (rows of ``features``) in ``segment``."""
    mask = np.ones(len(features), dtype=bool)
    for cond in segment.conditions:
        mask &= _mask(features[cond.field], cond)
    return mask


def fields_needed(segments: SegmentsFile) -> tuple[list[str], list[str]]:
    """The departments (``share:``) and demographic attributes (``demo:``) the segments read."""
    fields = [c.field for s in segments.segments for c in s.conditions]
    departments = [f[len(SHARE_PREFIX) :] for f in fields if f.startswith(SHARE_PREFIX)]
    demographics = [f[len(DEMO_PREFIX) :] for f in fields if f.startswith(DEMO_PREFIX)]
    return list(dict.fromkeys(departments)), list(dict.fromkeys(demographics))


def assign_segments(features: pd.DataFrame, segments: SegmentsFile) -> pd.Series:
    """Each member's segments as a tuple of names in file order (an empty tuple: in none)."""
    masks = (
        np.column_stack([segment_mask(features, s) for s in segments.segments])
        if segments.segments
        else (np.zeros((len(features), 0), dtype=bool))
    )
    names = segments.names
    out = [tuple(names[k] for k in np.flatnonzero(row)) for row in masks]
    return pd.Series(out, index=features.index, dtype=object, name="segments")


def segment_counts(members: pd.Series, segments: SegmentsFile) -> dict[str, int]:
    """Members per segment, in file order (``members``: tuples from :func:`assign_segments`)."""
    counts = dict.fromkeys(segments.names, 0)
    for names in members:
        for name in names:
            counts[name] += 1
    return counts
