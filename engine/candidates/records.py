"""The per-member candidate records and their compact dict / JSON form (one record per member in the store).

:class:`MemberCandidates` holds everything the rules need about one member: its
:class:`HabitualCandidate` and :class:`StretchCandidate` picks, best first, the :class:`TierDrop` of a
win-back and the :class:`MemberProfile` a message addresses. Ids keep their source type (``int`` for
Complete Journey, ``str`` elsewhere).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass
from typing import Any, NamedTuple

import orjson

from engine.data.schema import TIERS
from engine.errors import ArtifactError
from engine.loyalty.config import STAGES, valid_segment_name

Id = int | str


class HabitualCandidate(NamedTuple):
    """A product the member bought before; ``score`` = P(member buys it in the challenge week).

    A named tuple rather than a dataclass: millions are built per artifact and tuples build fastest.
    """

    item_id: Id
    score: float
    n_baskets: int
    last_week: int | None


class StretchCandidate(NamedTuple):
    """A category the member never bought; ``score`` = P(member buys in it in the challenge week)."""

    category: str
    score: float
    suggested_item_id: Id
    expected_margin: float


class TierDrop(NamedTuple):
    """The higher tier a member's trailing spend lost, and the first week below it (win-back)."""

    previous_tier: str
    dropped_week: int


class MemberProfile(NamedTuple):
    """How to address a member, from the members file's optional columns (``None``: not given).

    ``name`` is what a message calls the member, ``language`` a BCP 47 tag (``"fa"``, ``"en-US"``) and
    ``time_zone`` an IANA zone (``"Asia/Tehran"``); see :data:`engine.data.schema.PROFILE_COLUMNS`.
    """

    name: str | None = None
    language: str | None = None
    time_zone: str | None = None


@dataclass(frozen=True, slots=True)
class MemberCandidates:
    """Everything the rules need about one member, best candidates first.

    ``drop`` is set when the member recently dropped a tier (:func:`engine.data.tiers.tier_drops`).
    ``stage`` and ``segments`` (:mod:`engine.loyalty`) travel beside the tier so rules can target them;
    ``None`` and ``()`` when the artifact has no loyalty table (then no stage or segment target matches).
    ``profile`` (how to address the member in a message) is ``None`` when the members file gave none.
    """

    member_id: Id
    tier: str
    habitual: tuple[HabitualCandidate, ...]
    stretch: tuple[StretchCandidate, ...]
    bought_categories: frozenset[str]
    _: KW_ONLY  # the optional parts by name only: positions would silently shift as parts are added
    drop: TierDrop | None = None
    stage: str | None = None
    segments: tuple[str, ...] = ()
    profile: MemberProfile | None = None

    def __post_init__(self) -> None:
        drop = self.drop
        if drop is not None and not (
            drop.previous_tier in TIERS
            and self.tier in TIERS
            and TIERS.index(drop.previous_tier) > TIERS.index(self.tier)
        ):
            raise ArtifactError(
                f"member {self.member_id!r}: previous tier {drop.previous_tier!r} must be one of "
                f"{list(TIERS)} above the member's tier {self.tier!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        """Compact dict: candidates as positional lists (one record per member in the store)."""
        out: dict[str, Any] = {
            "m": self.member_id,
            "t": self.tier,
            "h": [[c.item_id, c.score, c.n_baskets, c.last_week] for c in self.habitual],
            "s": [[c.category, c.score, c.suggested_item_id, c.expected_margin] for c in self.stretch],
            "b": sorted(self.bought_categories),
        }
        if self.drop is not None:  # only then: records of members who did not drop stay as they were
            out["d"] = [self.drop.previous_tier, self.drop.dropped_week]
        if self.stage is not None:
            out["g"] = self.stage
        if self.segments:
            out["sg"] = list(self.segments)
        if self.profile is not None:
            out["p"] = list(self.profile)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MemberCandidates:
        """Inverse of :meth:`to_dict`; a malformed record raises :class:`ArtifactError`."""
        try:
            return cls(
                member_id=data["m"],
                tier=str(data["t"]),
                habitual=tuple(
                    HabitualCandidate(i, float(s), int(n), None if w is None else int(w))
                    for i, s, n, w in data["h"]
                ),
                stretch=tuple(StretchCandidate(str(c), float(s), i, float(e)) for c, s, i, e in data["s"]),
                bought_categories=frozenset(str(c) for c in data["b"]),
                drop=None if data.get("d") is None else TierDrop(str(data["d"][0]), int(data["d"][1])),
                stage=_stage(data.get("g")),
                segments=_segment_names(data.get("sg", ())),
                profile=_profile(data.get("p")),
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ArtifactError(f"malformed member candidate record: {exc!r}") from exc

    def to_json(self) -> bytes:
        """Compact JSON bytes (orjson); NaN scores become ``null`` and read back as NaN."""
        return orjson.dumps(self.to_dict())

    @classmethod
    def from_json(cls, raw: bytes | str) -> MemberCandidates:
        """Inverse of :meth:`to_json`."""
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ArtifactError(f"member candidate record is not valid JSON: {exc}") from exc
        for row in data.get("h", []):
            row[1] = math.nan if row[1] is None else row[1]
        for row in data.get("s", []):
            row[1] = math.nan if row[1] is None else row[1]
            row[3] = math.nan if row[3] is None else row[3]
        return cls.from_dict(data)


def _stage(value: object) -> str | None:
    """A record's stage: ``None`` or one of the ladder's stages (else ``ValueError``)."""
    if value is None:
        return None
    if value not in STAGES:
        raise ValueError(f"stage {value!r} is not one of {list(STAGES)}")
    return str(value)


def _segment_names(value: object) -> tuple[str, ...]:
    """A record's segments: well-formed names (else ``ValueError``)."""
    if not isinstance(value, list | tuple) or not all(
        isinstance(n, str) and valid_segment_name(n) for n in value
    ):
        raise ValueError(f"segments {value!r} are not a list of segment names")
    return tuple(value)


def _profile(raw: Any) -> MemberProfile | None:
    """A record's ``p`` list back as a profile (absent in records written before profiles)."""
    if raw is None:
        return None
    name, language, zone = raw
    return MemberProfile(*(None if v is None else str(v) for v in (name, language, zone)))
