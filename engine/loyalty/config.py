"""The ladder's thresholds (``configs/loyalty.toml``) and the segments file (``configs/segments.toml``).

Both are data a loyalty team edits; both are validated by pydantic with unknown keys refused, and any
problem raises :class:`~engine.errors.ConfigError` naming the file, the segment and the field.

Condition language (one condition = ``{field, op, value}``; a segment's conditions all must hold)
    numeric fields  ``weeks_since_last``, ``baskets``, ``active_weeks``, ``spend``, ``spend_52w``,
                    ``lifetime_baskets``, ``coupon_redemptions``, ``share:<DEPARTMENT>`` (share of the
                    member's spend in the window, 0..1); ops ``== != < <= > >= in not_in``
    text fields     ``tier``, ``stage``, ``demo:<attribute>`` (e.g. ``demo:kids_count``); ops
                    ``== != in not_in``
    flag            ``has_profile`` (the member file or survey holds personal data); ops ``== !=``
A member for whom a field is unknown (no purchase yet: ``weeks_since_last``; no survey answer:
``demo:*``) fails every condition on it except ``!=`` and ``not_in``.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Annotated, Literal

import orjson
from pydantic import Field, model_validator

from engine.config import CONFIG_DIR, StrictModel, load_config
from engine.data.schema import TIERS

#: The ladder, lowest rung first (DOMAIN.md: suspect -> prospect -> first-time -> repeat -> loyal ->
#: advocate).
STAGES: tuple[str, ...] = ("suspect", "prospect", "first_time", "repeat", "loyal", "advocate")

NUMERIC_FIELDS: frozenset[str] = frozenset(
    {
        "weeks_since_last",
        "baskets",
        "active_weeks",
        "spend",
        "spend_52w",
        "lifetime_baskets",
        "coupon_redemptions",
    }
)
TEXT_FIELDS: frozenset[str] = frozenset({"tier", "stage"})
FLAG_FIELDS: frozenset[str] = frozenset({"has_profile"})
SHARE_PREFIX = "share:"
DEMO_PREFIX = "demo:"

Op = Literal["==", "!=", "<", "<=", ">", ">=", "in", "not_in"]
ORDER_OPS: frozenset[str] = frozenset({"<", "<=", ">", ">="})
LIST_OPS: frozenset[str] = frozenset({"in", "not_in"})
Scalar = float | str | bool
#: Segment names travel in artifacts and API answers joined by commas: keep them plain.
NAME_PATTERN = r"^[a-z][a-z0-9_]{0,47}$"

Share = Annotated[float, Field(ge=0.0, le=1.0)]


class LadderConfig(StrictModel):
    """Thresholds of the ladder stages; see :mod:`engine.loyalty.stages` for the definitions."""

    window_weeks: Annotated[int, Field(ge=1)] = 52
    first_time_max_baskets: Annotated[int, Field(ge=1)] = 1
    loyal_window_weeks: Annotated[int, Field(ge=1)] = 26
    loyal_min_active_share: Annotated[float, Field(gt=0.0, le=1.0)] = 0.5
    advocate_top_spend_share: Annotated[float, Field(gt=0.0, le=1.0)] = 0.2
    advocate_min_coupon_redemptions: Annotated[int, Field(ge=0)] = 1


def field_kind(name: str) -> Literal["numeric", "text", "flag"] | None:
    """The kind of a condition field, or ``None`` when the field is not known."""
    if name in NUMERIC_FIELDS or (name.startswith(SHARE_PREFIX) and len(name) > len(SHARE_PREFIX)):
        return "numeric"
    if name in TEXT_FIELDS or (name.startswith(DEMO_PREFIX) and len(name) > len(DEMO_PREFIX)):
        return "text"
    if name in FLAG_FIELDS:
        return "flag"
    return None


class Condition(StrictModel):
    """One test on one member field: ``field op value``."""

    field: str
    op: Op
    value: Scalar | list[Scalar]

    def problem(self) -> str | None:
        """What is wrong with this condition (field, operator and value together), or ``None``."""
        kind = field_kind(self.field)
        if kind is None:
            known = sorted(NUMERIC_FIELDS | TEXT_FIELDS | FLAG_FIELDS)
            return (
                f"field {self.field!r} is not known; fields are {known}, 'share:<DEPARTMENT>', 'demo:<attr>'"
            )
        values = self.value if isinstance(self.value, list) else [self.value]
        if (self.op in LIST_OPS) != isinstance(self.value, list):
            need = "a list" if self.op in LIST_OPS else "one value"
            return f"field {self.field!r}: op {self.op!r} needs {need}"
        if kind == "numeric":
            bad = [v for v in values if isinstance(v, bool) or not isinstance(v, int | float)]
            if bad:
                return f"field {self.field!r} is numeric: {bad!r} are not numbers"
        elif self.op in ORDER_OPS:
            return f"field {self.field!r} is not numeric: op {self.op!r} does not apply"
        elif kind == "flag" and not all(isinstance(v, bool) for v in values):
            return f"field {self.field!r} is true or false, got {self.value!r}"
        elif kind == "text" and not all(isinstance(v, str) for v in values):
            return f"field {self.field!r} is text, got {self.value!r}"
        allowed = {"stage": STAGES, "tier": TIERS}.get(self.field)
        if allowed is not None and any(v not in allowed for v in values):
            return f"field {self.field!r}: {self.value!r} is not among {list(allowed)}"
        return None


class Segment(StrictModel):
    """A named group of members: those for whom every condition holds (no condition: every member)."""

    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    conditions: tuple[Condition, ...] = ()

    @model_validator(mode="after")
    def _conditions_make_sense(self) -> Segment:
        for k, cond in enumerate(self.conditions):
            why = cond.problem()
            if why is not None:
                raise ValueError(f"segment {self.name!r}: conditions[{k}]: {why}")
        return self


class SegmentsFile(StrictModel):
    """The segments file: a version the team bumps on every change, and the segments in file order.

    File order matters: targeting resolves a member in several segments by the rules' targets (first
    matching target wins, :mod:`engine.rules.targets`), and lists a member's segments in file order.
    """

    version: str = Field(min_length=1)
    window_weeks: Annotated[int, Field(ge=1)] = 52
    segments: tuple[Segment, ...] = ()

    @model_validator(mode="after")
    def _unique_names(self) -> SegmentsFile:
        names = [s.name for s in self.segments]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"segment name(s) {dup} appear more than once")
        return self

    @property
    def names(self) -> tuple[str, ...]:
        """Segment names in file order."""
        return tuple(s.name for s in self.segments)

    @property
    def content_hash(self) -> str:
        """12 hex characters over the normalised segments (two layouts of one meaning hash alike)."""
        raw = orjson.dumps(self.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(raw).hexdigest()[:12]


def valid_segment_name(name: str) -> bool:
    """Whether ``name`` is a well-formed segment name."""
    return re.fullmatch(NAME_PATTERN, name) is not None


def load_ladder(path: Path | str = CONFIG_DIR / "loyalty.toml") -> LadderConfig:
    """Read and validate the ladder thresholds; problems raise ``ConfigError`` naming file and key."""
    return load_config(path, LadderConfig)


def load_segments(path: Path | str = CONFIG_DIR / "segments.toml") -> SegmentsFile:
    """Read and validate a segments file; problems raise ``ConfigError`` naming segment and field."""
    return load_config(path, SegmentsFile)
