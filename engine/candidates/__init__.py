"""A per-member view of the candidate artifact: what the rules and the challenge assembly work on.

Public API
    :data:`Id`, :class:`MemberCandidates` (with :class:`HabitualCandidate`,
    :class:`StretchCandidate`, :class:`TierDrop`, :class:`MemberProfile`) and their
    compact dict / JSON record form                                        ``records.py``
    :class:`Catalog`, :class:`ItemInfo`, :data:`ITEM_DEFAULTS`             ``catalog.py``
    :func:`iter_member_candidates`, :func:`cold_start_candidates`, :func:`member_index`,
    :func:`loyalty_of`, :func:`member_profiles`, :func:`paused_gc`,
    :data:`DEFAULT_TIER`                                                   ``members.py``

Ids keep their source type (``int`` for Complete Journey, ``str`` elsewhere).
"""

from engine.candidates.catalog import ITEM_DEFAULTS, Catalog, ItemInfo
from engine.candidates.members import (
    DEFAULT_TIER,
    cold_start_candidates,
    iter_member_candidates,
    loyalty_of,
    member_index,
    member_profiles,
    paused_gc,
)
from engine.candidates.records import (
    HabitualCandidate,
    Id,
    MemberCandidates,
    MemberProfile,
    StretchCandidate,
    TierDrop,
)

__all__ = [
    "DEFAULT_TIER",
    "ITEM_DEFAULTS",
    "Catalog",
    "HabitualCandidate",
    "Id",
    "ItemInfo",
    "MemberCandidates",
    "MemberProfile",
    "StretchCandidate",
    "TierDrop",
    "cold_start_candidates",
    "iter_member_candidates",
    "loyalty_of",
    "member_index",
    "member_profiles",
    "paused_gc",
]
