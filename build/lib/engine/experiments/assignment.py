"""Deterministic, sticky arm assignment: GrowthBook's hashing scheme, reproduced exactly.

Pure functions, no state: the same salt, member id and weights give the same arm on any machine and in
any GrowthBook SDK, so an analyst can re-derive assignments from the definition alone.

- :func:`fnv1a32`: 32-bit FNV-1a over the string's code points (as GrowthBook's Python SDK does).
- :func:`gbhash`: version 2 (default) is ``fnv1a32(str(fnv1a32(seed + value))) % 10000 / 10000``, the
  double hash GrowthBook introduced because version 1 (``fnv1a32(value + seed) % 1000 / 1000``) put
  similar seeds into correlated buckets.
- :func:`bucket_ranges` and :func:`choose_variation`: weights laid out end to end on ``[0, 1)``.
- :func:`in_namespace`: GrowthBook's ``inNamespace`` (``gbhash("__" + name, id, 1)`` in ``[start, end)``),
  so experiments in disjoint ranges of one namespace never share a member.
- :func:`targets` and :func:`arm_for_member`: the experiment's population (tiers, namespace), then
  the arm; None for a member the experiment does not take.

Member ids are hashed in their canonical form (:mod:`engine.serve.member_ids`): ``7`` and ``"7"`` are
one member, while ``"007"`` is refused rather than silently landing in another arm than ``"7"``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from engine.errors import ExperimentError
from engine.experiments.definition import ExperimentDefinition, Namespace
from engine.serve.member_ids import member_id_problem

_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193
_UINT32 = 2**32
# GrowthBook's resolution per hash version: v1 buckets to 1/1000, v2 to 1/10000.
_V1_BUCKETS = 1000
_V2_BUCKETS = 10000
# GrowthBook falls back to equal weights when the given ones do not sum to 1 within this band.
_GB_WEIGHT_SUM_LOW = 0.99
_GB_WEIGHT_SUM_HIGH = 1.01


def fnv1a32(text: str) -> int:
    """32-bit FNV-1a hash of ``text``'s code points."""
    h = _FNV_OFFSET
    for ch in text:
        h = ((h ^ ord(ch)) * _FNV_PRIME) % _UINT32
    return h


def gbhash(seed: str, value: str, version: int = 2) -> float | None:
    """GrowthBook's bucket of ``value`` under ``seed``, in ``[0, 1)``; None for an unknown version."""
    if version == 2:
        return (fnv1a32(str(fnv1a32(seed + value))) % _V2_BUCKETS) / _V2_BUCKETS
    if version == 1:
        return (fnv1a32(value + seed) % _V1_BUCKETS) / _V1_BUCKETS
    return None


def equal_weights(n: int) -> list[float]:
    """``n`` equal weights (empty for ``n < 1``)."""
    return [1 / n] * n if n >= 1 else []


def bucket_ranges(
    n_variations: int, coverage: float = 1.0, weights: Sequence[float] | None = None
) -> list[tuple[float, float]]:
    """GrowthBook's ``getBucketRanges``: one ``[start, end)`` per variation, weights laid end to end.

    Coverage is clamped to ``[0, 1]``; weights of the wrong length or not summing to 1 within
    ``[0.99, 1.01]`` are replaced by equal weights, exactly as the SDK does.
    """
    coverage = min(max(coverage, 0.0), 1.0)
    w = list(weights) if weights is not None else equal_weights(n_variations)
    if len(w) != n_variations or not _GB_WEIGHT_SUM_LOW <= sum(w) <= _GB_WEIGHT_SUM_HIGH:
        w = equal_weights(n_variations)
    ranges: list[tuple[float, float]] = []
    cumulative = 0.0
    for weight in w:
        start = cumulative
        cumulative += weight
        ranges.append((start, start + coverage * weight))
    return ranges


def choose_variation(n: float, ranges: Sequence[tuple[float, float]]) -> int:
    """Index of the range holding ``n`` (start inclusive, end exclusive), or -1 if none does."""
    for i, (start, end) in enumerate(ranges):
        if start <= n < end:
            return i
    return -1


def assign_arm(definition: ExperimentDefinition, member_id: int | str) -> str:
    """The arm ``member_id`` belongs to in ``definition``: sticky, deterministic, reproducible.

    Parameters
    ----------
    definition
        The experiment; its salt seeds the hash and its arm weights set the bucket ranges.
    member_id
        The member; integers hash as their decimal string (GrowthBook stringifies hash attributes).

    Returns
    -------
    str
        The arm name.
    """
    key = _canonical(definition, member_id)
    n = gbhash(definition.salt, key, definition.hash_version)
    if n is None:  # the definition model only admits known versions; kept for a clear error
        raise ExperimentError(
            f"experiment {definition.name!r}: unknown hash_version {definition.hash_version}"
        )
    index = choose_variation(n, bucket_ranges(len(definition.arms), 1.0, definition.weights))
    if index < 0:
        # Weights summing to 1 in floating point can leave the top of [0, 1) uncovered by ~1e-16:
        # such a hash belongs to the last arm, as it would with exact arithmetic.
        if math.isclose(n, 1.0) or n >= sum(definition.weights):
            index = len(definition.arms) - 1
        else:
            raise ExperimentError(f"experiment {definition.name!r}: hash {n} falls outside every arm")
    return definition.arms[index].name


def _canonical(definition: ExperimentDefinition, member_id: int | str) -> str:
    key = str(member_id)
    if not key:
        raise ExperimentError(f"experiment {definition.name!r}: cannot assign an empty member id")
    problem = member_id_problem(key)
    if problem is not None:
        raise ExperimentError(f"experiment {definition.name!r}: {problem}")
    return key


def in_namespace(namespace: Namespace, member_id: str) -> bool:
    """GrowthBook's ``inNamespace``: whether ``member_id`` hashes into the namespace's range."""
    n = gbhash(f"__{namespace.name}", member_id, 1)
    return n is not None and namespace.start <= n < namespace.end


def targets(definition: ExperimentDefinition, member_id: int | str, tier: str | None = None) -> bool:
    """Whether ``definition`` takes ``member_id`` (of ``tier``): its tiers, then its namespace range.

    Raises
    ------
    ExperimentError
        The definition targets tiers but no tier was given, or the member id is not canonical.
    """
    key = _canonical(definition, member_id)
    if definition.tiers:
        if tier is None:
            raise ExperimentError(
                f"experiment {definition.name!r} targets tiers {list(definition.tiers)}: the member's tier "
                f"is needed to decide whether member {key!r} is in it"
            )
        if tier not in definition.tiers:
            return False
    return definition.namespace is None or in_namespace(definition.namespace, key)


def arm_for_member(
    definition: ExperimentDefinition, member_id: int | str, tier: str | None = None
) -> str | None:
    """The member's arm when ``definition`` targets them (:func:`targets`), else None."""
    return assign_arm(definition, member_id) if targets(definition, member_id, tier) else None


def assign_many(definition: ExperimentDefinition, member_ids: Sequence[int | str]) -> list[str]:
    """:func:`assign_arm` for many members, in order."""
    return [assign_arm(definition, m) for m in member_ids]
