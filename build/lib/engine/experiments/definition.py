"""Experiment definitions: one TOML file per experiment in ``experiments/``, validated before anything runs.

A definition names the arms and their traffic weights, the salt that seeds assignment, the weeks the
experiment runs, the population it draws from, the primary metric and the guardrails::

    name = "star_challenge_v1"
    salt = "star_challenge_v1"
    population = "all_members"
    start_week = 90
    end_week = 101
    primary_metric = "net_profit_per_member"
    correction = "holm"          # or "bh" (Benjamini-Hochberg) or "none"
    sequential = true            # confidence sequences: safe to look every day

    [[arms]]
    name = "recommender"
    policy = "recommender"
    weight = 0.4

    [[guardrails]]
    metric = "opt_out_rate"
    max_harm = 0.02

Two experiments that draw from the same population in overlapping weeks would each take members the
other one counts, so :func:`load_definitions` refuses such a pair, unless they target tiers that do
not intersect or hold disjoint ranges of one namespace (GrowthBook's namespaces)::

    tiers = ["gold", "diamond"]                        # empty or absent: every tier
    namespace = { name = "weekly", start = 0.0, end = 0.5 }
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from engine.config import StrictModel, parse_config, read_toml
from engine.errors import ConfigError, ExperimentError
from engine.experiments.corrections import Correction

#: Where the shipped definitions live: ``<repo>/experiments``.
EXPERIMENTS_DIR = Path(__file__).resolve().parent.parent.parent / "experiments"

Policy = Literal["recommender", "baseline", "holdout"]
TierName = Literal["bronze", "silver", "gold", "diamond"]
MetricName = Literal[
    "net_profit_per_member",
    "gross_margin_per_member",
    "spend_per_member",
    "completion_rate",
    "opt_out_rate",
]

#: Weights are fractions of traffic: they must add up to one, within float rounding.
_WEIGHT_SUM_TOLERANCE = 1e-9


class Arm(StrictModel):
    """One arm: its name, the policy that makes its challenges and its share of members."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_\-]+$")
    policy: Policy
    weight: float = Field(gt=0, le=1)


class Guardrail(StrictModel):
    """A metric that must not get worse than ``max_harm`` (absolute, in the metric's unit) vs control."""

    metric: MetricName
    max_harm: float = Field(ge=0)


class Namespace(StrictModel):
    """A GrowthBook-style namespace range: the experiment takes members hashed into ``[start, end)``.

    Experiments in the same namespace with ranges that do not overlap never share a member, so they can
    run in the same weeks on the same population.
    """

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_\-]+$")
    start: float = Field(ge=0, lt=1)
    end: float = Field(gt=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> Namespace:
        if self.start >= self.end:
            raise ValueError(f"namespace {self.name!r}: start {self.start} must be below end {self.end}")
        return self

    def overlaps(self, other: Namespace) -> bool:
        """Whether the two ranges can hold the same member (different namespaces hash independently)."""
        return self.name != other.name or (self.start < other.end and other.start < self.end)


class ExperimentDefinition(StrictModel):
    """A validated experiment definition (see the module docstring for the file layout)."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_\-]+$")
    description: str = ""
    salt: str = Field(min_length=1)
    hash_version: Literal[1, 2] = 2
    population: str = Field(min_length=1)
    #: Member tiers the experiment targets; empty: every tier.
    tiers: tuple[TierName, ...] = ()
    #: The namespace range the experiment takes members from; None: the whole population.
    namespace: Namespace | None = None
    start_week: int = Field(ge=1)
    end_week: int = Field(ge=1)
    primary_metric: MetricName
    arms: tuple[Arm, ...] = Field(min_length=2)
    guardrails: tuple[Guardrail, ...] = ()
    #: Multiple-comparison correction over every (arm, metric) comparison: holm (family-wise error),
    #: bh (Benjamini-Hochberg false discovery rate) or none.
    correction: Correction = "holm"
    #: Decide with always-valid confidence sequences (safe to look daily) instead of fixed-horizon CIs.
    sequential: bool = False
    #: Members (both arms) where the confidence sequence is tightest; None takes the analysis config's.
    sequential_tuning: int | None = Field(default=None, ge=1)
    #: Who counts as exposed: members whose challenge was fetched, or only those it was shown to (the
    #: app reports displays); fetched-but-never-shown members are then reported apart.
    exposure: Literal["fetched", "displayed"] = "fetched"

    @field_validator("arms")
    @classmethod
    def _arms_consistent(cls, arms: tuple[Arm, ...]) -> tuple[Arm, ...]:
        names = [a.name for a in arms]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"arm names must be unique; repeated: {duplicates}")
        total = math.fsum(a.weight for a in arms)
        if abs(total - 1.0) > _WEIGHT_SUM_TOLERANCE:
            raise ValueError(f"arm weights must sum to 1; they sum to {total:.6g} ({names})")
        holdouts = [a.name for a in arms if a.policy == "holdout"]
        if len(holdouts) > 1:
            raise ValueError(f"at most one holdout arm is allowed; got {holdouts}")
        return arms

    @model_validator(mode="after")
    def _weeks_ordered(self) -> ExperimentDefinition:
        if self.start_week > self.end_week:
            raise ValueError(f"start_week {self.start_week} is after end_week {self.end_week}")
        return self

    @property
    def arm_names(self) -> tuple[str, ...]:
        """Arm names in file order (the order buckets are laid out in)."""
        return tuple(a.name for a in self.arms)

    @property
    def weights(self) -> tuple[float, ...]:
        """Arm weights in file order."""
        return tuple(a.weight for a in self.arms)

    def arm(self, name: str) -> Arm:
        """The arm called ``name``; an unknown name raises :class:`ExperimentError`."""
        for arm in self.arms:
            if arm.name == name:
                return arm
        raise ExperimentError(f"experiment {self.name!r} has no arm {name!r} (arms: {list(self.arm_names)})")

    @property
    def control(self) -> Arm:
        """The arm others are compared with: the holdout, else the baseline policy arm."""
        for policy in ("holdout", "baseline"):
            for arm in self.arms:
                if arm.policy == policy:
                    return arm
        raise ExperimentError(
            f"experiment {self.name!r} has neither a holdout nor a baseline arm to compare with"
        )

    def covers_week(self, week: int) -> bool:
        """Whether ``week`` lies in ``[start_week, end_week]``."""
        return self.start_week <= week <= self.end_week

    def assignment_fingerprint(self) -> str:
        """Hash of everything that decides who lands in which arm (salt, hash version, arms, weights,
        tiers and namespace).

        Stored at first exposure; a later definition with the same salt but another fingerprint
        would move members between arms mid-experiment and is refused.
        """
        payload: dict[str, object] = {
            "salt": self.salt,
            "hash_version": self.hash_version,
            "arms": [[a.name, a.policy, repr(a.weight)] for a in self.arms],
        }
        # Only when set, so that the locks of definitions written before these fields stay valid.
        if self.tiers:
            payload["tiers"] = sorted(self.tiers)
        if self.namespace is not None:
            ns = self.namespace
            payload["namespace"] = [ns.name, repr(ns.start), repr(ns.end)]
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def load_definition(path: Path | str) -> ExperimentDefinition:
    """Read and validate one experiment file; errors name the file and each bad key."""
    path = Path(path)
    try:
        raw = read_toml(path)
        definition = parse_config(raw, ExperimentDefinition, str(path))
    except ConfigError as exc:
        raise ExperimentError(exc.message, detail=exc.detail) from exc
    if definition.name != path.stem:
        raise ExperimentError(f"{path}: name {definition.name!r} must equal the file name {path.stem!r}")
    return definition


def share_members(a: ExperimentDefinition, b: ExperimentDefinition) -> bool:
    """Whether two experiments can take the same member in the same week.

    They cannot when their populations, weeks or tiers differ, or when they hold disjoint ranges of
    one namespace; experiments in different namespaces (or none) hash independently and can.
    """
    if a.population != b.population or a.start_week > b.end_week or b.start_week > a.end_week:
        return False
    if a.tiers and b.tiers and not set(a.tiers) & set(b.tiers):
        return False
    return a.namespace is None or b.namespace is None or a.namespace.overlaps(b.namespace)


def check_overlaps(definitions: list[ExperimentDefinition]) -> None:
    """Refuse two experiments that can take the same member in the same week, or two with one salt."""
    problems: list[str] = []
    for i, a in enumerate(definitions):
        for b in definitions[i + 1 :]:
            if a.name == b.name:
                problems.append(f"experiment name {a.name!r} is defined twice")
            elif share_members(a, b):
                problems.append(
                    f"{a.name!r} (weeks {a.start_week}-{a.end_week}) and {b.name!r} "
                    f"(weeks {b.start_week}-{b.end_week}) overlap on population {a.population!r}"
                )
            elif a.salt == b.salt:
                # Same salt means correlated assignments across experiments.
                problems.append(f"{a.name!r} and {b.name!r} share the salt {a.salt!r}")
    if problems:
        raise ExperimentError("conflicting experiments:\n  - " + "\n  - ".join(problems))


def load_definitions(directory: Path | str = EXPERIMENTS_DIR) -> dict[str, ExperimentDefinition]:
    """Load every ``*.toml`` in ``directory`` and check them against each other."""
    directory = Path(directory)
    paths = sorted(directory.glob("*.toml"))
    definitions = [load_definition(p) for p in paths]
    check_overlaps(definitions)
    return {d.name: d for d in definitions}


def find_definition(name: str, directory: Path | str = EXPERIMENTS_DIR) -> ExperimentDefinition:
    """The experiment called ``name`` from ``directory`` (all files there are validated together)."""
    definitions = load_definitions(directory)
    if name not in definitions:
        raise ExperimentError(f"no experiment {name!r} in {directory} (known: {sorted(definitions)})")
    return definitions[name]


class LockMemo:
    """Assignment locks this process has already confirmed, so an exposure checks its lock only once.

    Definitions are frozen: the same object is recognised by identity without even hashing its
    fingerprint; an equal definition loaded again is recognised by ``(name, salt, fingerprint)``.
    """

    def __init__(self) -> None:
        self._by_identity: dict[int, ExperimentDefinition] = {}
        self._keys: set[tuple[str, str, str]] = set()

    def pending(self, definition: ExperimentDefinition) -> str | None:
        """None when ``definition``'s lock is already confirmed; else the fingerprint to check."""
        if self._by_identity.get(id(definition)) is definition:
            return None
        fingerprint = definition.assignment_fingerprint()
        if (definition.name, definition.salt, fingerprint) in self._keys:
            self._by_identity[id(definition)] = definition
            return None
        return fingerprint

    def confirm(self, definition: ExperimentDefinition, fingerprint: str) -> None:
        """Remember that the store holds ``fingerprint`` as ``definition``'s lock."""
        self._keys.add((definition.name, definition.salt, fingerprint))
        self._by_identity[id(definition)] = definition
