"""Targeting: rules per tier, ladder stage and segment (``[[targets]]`` in the rules file). Pure.

Each target names a group with ``match`` (any of ``tier``, ``stage``, ``segment``; each one value or a
list, a member matching when its value is in the list, every key given having to match) and overrides
for that group: the reward (``stars``, ``cash_per_star``, ``min_stars``), the frequency cap
(``min_weeks_between_offers``), extra exclusions (``excluded_departments``, ``excluded_categories``)
and ``enabled = false`` to give the group no challenges at all.

Overlaps: a member may be in several segments and match several targets; **the first matching target
in file order applies**, and only it (targets do not stack). Put the narrowest groups first. The
explanation names the target that applied (rule ``target``).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated

from pydantic import Field, field_validator, model_validator

from engine.config import StrictModel
from engine.data.schema import TIERS
from engine.loyalty.config import NAME_PATTERN, STAGES, valid_segment_name

if TYPE_CHECKING:
    from engine.rules.config import EligibilityRules, TierPolicy


def _as_tuple(value: object) -> object:
    return (value,) if isinstance(value, str) else value


class TargetMatch(StrictModel):
    """Which members a target is for; a key left out matches everyone."""

    tier: tuple[str, ...] | None = None
    stage: tuple[str, ...] | None = None
    segment: tuple[str, ...] | None = None

    _tuples = field_validator("tier", "stage", "segment", mode="before")(_as_tuple)

    @model_validator(mode="after")
    def _known_values(self) -> TargetMatch:
        if self.tier is None and self.stage is None and self.segment is None:
            raise ValueError("match needs at least one of tier, stage, segment")
        for key, allowed in (("tier", TIERS), ("stage", STAGES)):
            bad = [v for v in getattr(self, key) or () if v not in allowed]
            if bad:
                raise ValueError(f"match.{key}: {bad} not among {list(allowed)}")
        bad = [v for v in self.segment or () if not valid_segment_name(v)]
        if bad:
            raise ValueError(f"match.segment: {bad} are not segment names ({NAME_PATTERN})")
        return self

    def matches(self, tier: str, stage: str | None, segments: Sequence[str]) -> bool:
        """Whether a member with this tier, stage and segments is in the group."""
        return (
            (self.tier is None or tier in self.tier)
            and (self.stage is None or stage in self.stage)
            and (self.segment is None or any(s in self.segment for s in segments))
        )


class Target(StrictModel):
    """One group's overrides; fields left out keep the tier's policy and the file's eligibility."""

    name: str = Field(pattern=NAME_PATTERN)
    match: TargetMatch
    enabled: bool = True
    stars: Annotated[int, Field(gt=0)] | None = None
    cash_per_star: Annotated[float, Field(gt=0.0, allow_inf_nan=False)] | None = None
    min_stars: Annotated[int, Field(gt=0)] | None = None
    min_weeks_between_offers: Annotated[int, Field(ge=1)] | None = None
    excluded_departments: tuple[str, ...] = ()
    excluded_categories: tuple[str, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _name_in_errors(cls, data: object) -> object:
        # pydantic's location says targets.<index>; the marketer thinks in target names
        if isinstance(data, dict) and isinstance(data.get("match"), dict):
            unknown = sorted(set(data["match"]) - set(TargetMatch.model_fields))
            if unknown:
                raise ValueError(f"target {data.get('name')!r}: match.{unknown[0]}: unknown key")
        return data

    def overrides(self) -> dict[str, object]:
        """The tier-policy fields this target sets."""
        keys = ("stars", "cash_per_star", "min_stars", "min_weeks_between_offers")
        return {k: getattr(self, k) for k in keys if getattr(self, k) is not None}


def resolve_target(
    targets: Sequence[Target], tier: str, stage: str | None, segments: Sequence[str]
) -> Target | None:
    """The first target in file order whose match holds for the member, or ``None``."""
    return next((t for t in targets if t.match.matches(tier, stage, segments)), None)


@lru_cache(maxsize=256)
def targeted_policy(policy: TierPolicy, target: Target) -> TierPolicy:
    """The tier's policy with the target's overrides (validated: a floor above the reward is refused).

    Raises
    ------
    ValueError
        The overrides make an invalid policy (e.g. ``min_stars`` above ``stars``); the rules loader
        checks every target against every tier it can match, so a loaded file never does.
    """
    return type(policy).model_validate({**policy.model_dump(), **target.overrides()})


@lru_cache(maxsize=256)
def targeted_eligibility(eligibility: EligibilityRules, target: Target) -> EligibilityRules:
    """The file's eligibility with the target's extra exclusions."""
    if not (target.excluded_departments or target.excluded_categories):
        return eligibility
    return eligibility.model_copy(
        update={
            "excluded_departments": (*eligibility.excluded_departments, *target.excluded_departments),
            "excluded_categories": (*eligibility.excluded_categories, *target.excluded_categories),
        }
    )


def target_line(target: Target | None) -> str:
    """The explanation's words for the target that applied."""
    if target is None:
        return "no target matches: the tier's policy applies"
    parts = [f"{k}={v}" for k, v in target.overrides().items()]
    if target.excluded_departments or target.excluded_categories:
        parts.append(f"excludes {[*target.excluded_departments, *target.excluded_categories]}")
    what = ", ".join(parts) or "no override"
    state = "" if target.enabled else "; challenges disabled for this group"
    return f"target {target.name!r} applies (first match in file order): {what}{state}"
