"""The rules a marketer controls, as data: ``configs/rules.toml`` validated by :class:`RulesConfig`.

Unknown keys and bad values are refused with a :class:`~engine.errors.RulesError` naming the file and
the key. The rules version is a content hash of the normalised rules, so two files that mean the same
rules have the same version whatever their layout or comments.

Sections
    eligibility     what may appear in a challenge at all (exclusions, minimum margin, recency)
    hard_guard      the reward never costs more than a share of the picks' gross margin
    economic_guard  expected incremental profit threshold, the lift file and its conservative quantile
    tiers           reward and offer frequency per tier (bronze, silver, gold, diamond)
    budget          weekly budget on expected reward cost across members
    search          how many candidates the assembly combines to find a challenge that passes
    winback         a way back after a tier drop (:mod:`engine.rules.winback`)
    choice          alternative challenges per tier, the member picks one (:mod:`engine.rules.choice`)
    reward_variation  rewards varying per member-week within bounds (:mod:`engine.rules.variation`)
    targets         overrides per tier, ladder stage and segment, first match wins (engine/rules/targets.py)
    negative_signals what opt-outs, unsubscribes and blocked notifications do, and the expected cost of a
                    negative reaction subtracted from expected profit (engine/rules/negative.py)
"""

from __future__ import annotations

import hashlib
import math
import tomllib
from pathlib import Path
from typing import Annotated, Literal

import orjson
from pydantic import Field, ValidationError, field_validator, model_validator

from engine.config import CONFIG_DIR, StrictModel, format_validation_error, parse_config, read_toml
from engine.data.schema import TIERS
from engine.errors import RulesError
from engine.rules.choice import ChoiceRules
from engine.rules.lift import LiftFile
from engine.rules.negative import NegativeSignalRules
from engine.rules.targets import Target, targeted_policy
from engine.rules.variation import RewardVariation
from engine.rules.winback import WinbackRules

#: The shipped rules file.
DEFAULT_RULES_PATH = CONFIG_DIR / "rules.toml"

Share = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
Weeks = Annotated[int, Field(ge=0)]


class RecencyRules(StrictModel):
    """Suppression of items bought recently (durables) and of stretch categories offered recently."""

    durable_departments: tuple[str, ...] = ()
    durable_categories: tuple[str, ...] = ()
    durable_weeks: Weeks = 0
    stretch_repeat_weeks: Weeks = 0


class PromotionRules(StrictModel):
    """No reward stacked on an item whose planned promotion already consumes its margin.

    An item counts as promoted in the challenge week when it is on display or in the mailer in at
    least ``min_store_share`` of the stores; it is then refused when the share of its shelf-price
    margin left at the promotion's expected discount is below ``refuse_when_margin_left_below``
    (the Coke-and-sandwich lesson). A promoted item whose margin cannot be computed is refused too.
    """

    min_store_share: Annotated[float, Field(gt=0.0, le=1.0)] = 0.5
    refuse_when_margin_left_below: Annotated[float, Field(le=1.0, allow_inf_nan=False)] = 0.5


class EligibilityRules(StrictModel):
    """What may appear in a challenge at all."""

    excluded_departments: tuple[str, ...] = ()
    excluded_categories: tuple[str, ...] = ()
    excluded_item_ids: tuple[int | str, ...] = ()
    min_margin_rate: Share = 0.0
    recency: RecencyRules = RecencyRules()
    promotions: PromotionRules = PromotionRules()


class HardGuard(StrictModel):
    """The reward's cash cost may be at most ``max_reward_share`` of the three picks' unit gross margin."""

    max_reward_share: Share


class EconomicGuard(StrictModel):
    """Expected incremental profit of a challenge must be at least ``min_expected_profit``.

    The offer's effect on each pick is the odds-ratio lift of :mod:`engine.rules.lift`, read from
    ``lift_file`` (relative to the rules file's folder) or given inline as ``lifts``; the guards use
    each estimate at ``lift_quantile`` of its uncertainty (0.5 = the point estimate; lower is more
    cautious). A stretch adoption is worth the first purchase's margin plus the margin adopters of the
    category go on to spend over the training horizon (``count_habit_value``).
    """

    min_expected_profit: float = Field(allow_inf_nan=False)
    lift_file: str | None = None
    lifts: LiftFile
    lift_quantile: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.25
    count_habit_value: bool = True

    @model_validator(mode="before")
    @classmethod
    def _no_old_lifts(cls, data: object) -> object:
        if isinstance(data, dict) and ("habitual_lift" in data or "stretch_lift" in data):
            raise ValueError(
                "habitual_lift / stretch_lift (assumed absolute or relative lifts) are gone: name a lift "
                "file with lift_file (see configs/lifts.toml and engine/rules/lift.py)"
            )
        return data


class TierPolicy(StrictModel):
    """Reward size and offer frequency for one tier."""

    stars: Annotated[int, Field(gt=0)]
    cash_per_star: Annotated[float, Field(gt=0.0, allow_inf_nan=False)]
    min_weeks_between_offers: Annotated[int, Field(ge=1)] = 1
    #: Reward floor: when the full reward does not fit the hard guard with any picks, the largest reward
    #: that fits, down to this many stars, is offered instead (``None`` = no reduction).
    min_stars: Annotated[int, Field(gt=0)] | None = None
    #: Reachability: P(complete | offer) of the challenge must be at least this.
    min_p_complete: Share = 0.0
    #: Which passing combination wins. ``reward``: the largest reward some picks carry, then the most
    #: reachable (a rich tier's offer first, even on less likely picks). ``reach``: the most reachable
    #: challenge, with the largest reward its picks carry down to ``min_stars`` (picks within reach first).
    prefer: Literal["reward", "reach"] = "reward"

    @model_validator(mode="after")
    def _floor_below_reward(self) -> TierPolicy:
        if self.min_stars is not None and self.min_stars > self.stars:
            raise ValueError(f"min_stars {self.min_stars} is above stars {self.stars}")
        return self

    @property
    def floor_stars(self) -> int:
        """The fewest stars this tier's reward may be cut to."""
        return self.stars if self.min_stars is None else self.min_stars

    @property
    def reward_cost(self) -> float:
        """Cash cost of this tier's reward."""
        return self.stars * self.cash_per_star


class Budget(StrictModel):
    """Weekly budget on expected reward cost (reward cash cost x P(complete)); omitted = unlimited.

    ``weekly_trial_cost`` caps, within that, the expected cost of challenges whose lift is only a prior
    (a bounded trial that measures the lift); omitted = no separate cap.
    """

    weekly_expected_cost: NonNegative | None = None
    weekly_trial_cost: NonNegative | None = None


class Search(StrictModel):
    """How many top eligible candidates the assembly combines, and how it ranks those that pass.

    Passing combinations are ranked by reward (largest first: a tier gets its full reward whenever some
    picks carry it), then by ``P(complete | offer) x stretch value ** stretch_value_exponent``: a more
    likely pick never lowers the score, and among equally reachable challenges the stretch category
    worth more wins.
    """

    max_habitual: Annotated[int, Field(ge=2, le=50)] = 6
    max_stretch: Annotated[int, Field(ge=1, le=50)] = 4
    stretch_value_exponent: Annotated[float, Field(ge=0.0, le=2.0)] = 0.5
    #: What "stretch value" means in that ranking (never in the guards, which count margins):
    #: ``margin`` = the pick's unit margin + its category's habit value, the value the economic guard
    #: counts; ``adopter_spend`` = what new adopters of the category spend on it over the habit horizon
    #: (the artifact's ``adopter_spend``; unknown in an older artifact, which then ranks as 0).
    stretch_value: Literal["margin", "adopter_spend"] = "margin"


class RulesConfig(StrictModel):
    """All rules; see the module docstring for the sections."""

    eligibility: EligibilityRules = EligibilityRules()
    hard_guard: HardGuard
    economic_guard: EconomicGuard
    tiers: dict[str, TierPolicy]
    budget: Budget = Budget()
    search: Search = Search()
    winback: WinbackRules = WinbackRules()
    choice: ChoiceRules = ChoiceRules()
    reward_variation: RewardVariation = RewardVariation()
    targets: tuple[Target, ...] = ()
    negative_signals: NegativeSignalRules = NegativeSignalRules()

    @field_validator("tiers")
    @classmethod
    def _known_tiers(cls, tiers: dict[str, TierPolicy]) -> dict[str, TierPolicy]:
        unknown = sorted(set(tiers) - set(TIERS))
        if unknown:
            raise ValueError(f"unknown tier(s) {unknown}; tiers are {list(TIERS)}")
        missing = [t for t in TIERS if t not in tiers]
        if missing:
            raise ValueError(f"missing tier(s) {missing}; every tier of {list(TIERS)} needs a policy")
        return tiers

    @model_validator(mode="after")
    def _finite(self) -> RulesConfig:
        # pydantic accepts inf for plain floats with a bound; money must be finite to be audited
        if not math.isfinite(self.economic_guard.min_expected_profit):
            raise ValueError("economic_guard.min_expected_profit must be finite")
        return self

    @model_validator(mode="after")
    def _targets_make_policies(self) -> RulesConfig:
        names = [t.name for t in self.targets]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"targets: name(s) {dup} appear more than once")
        for t in self.targets:
            for tier in t.match.tier or tuple(self.tiers):
                try:
                    targeted_policy(self.tiers[tier], t)
                except ValidationError as exc:
                    why = "; ".join(e["msg"] for e in exc.errors())
                    raise ValueError(f"target {t.name!r} on tier {tier!r}: {why}") from exc
        return self

    def tier(self, name: str) -> TierPolicy:
        """The policy for tier ``name``; an unknown tier raises :class:`RulesError`."""
        try:
            return self.tiers[name]
        except KeyError as exc:
            raise RulesError(f"no tier policy for tier {name!r}; tiers are {sorted(self.tiers)}") from exc


def rules_version(rules: RulesConfig) -> str:
    """Content hash of the normalised rules (sorted keys, defaults filled in): 12 hex characters."""
    normalised = orjson.dumps(rules.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(normalised).hexdigest()[:12]


def _with_lifts(data: dict[str, object], base_dir: Path, source: str) -> dict[str, object]:
    """``data`` with ``economic_guard.lifts`` read from its ``lift_file``.

    A relative ``lift_file`` is looked up beside the rules file, then in the shipped ``configs/`` (so a
    copy of the rules kept elsewhere still finds the project's lifts); the rules version hashes the
    lifts' content, so which file was read is never ambiguous in what a challenge was built with.
    """
    econ = data.get("economic_guard")
    if not isinstance(econ, dict) or "lifts" in econ or not isinstance(econ.get("lift_file"), str):
        return data
    path = base_dir / econ["lift_file"]
    if not path.exists() and not Path(econ["lift_file"]).is_absolute():
        path = CONFIG_DIR / econ["lift_file"]
    lifts = read_toml(path, RulesError)
    try:
        LiftFile.model_validate(lifts)
    except ValidationError as exc:
        raise RulesError(
            f"{source}: economic_guard.lift_file: {format_validation_error(str(path), exc)}",
            detail=exc.errors(include_url=False),
        ) from exc
    return {**data, "economic_guard": {**econ, "lifts": lifts}}


def load_rules(path: Path | str = DEFAULT_RULES_PATH) -> RulesConfig:
    """Read and validate a rules file and its lift file; any problem raises :class:`RulesError`."""
    path = Path(path)
    return parse_rules(read_toml(path, RulesError), str(path), base_dir=path.parent)


def parse_rules(
    data: dict[str, object], source: str = "<rules>", *, base_dir: Path = CONFIG_DIR
) -> RulesConfig:
    """Validate an already-read mapping (tests, API payloads) with the same messages as files."""
    return parse_config(_with_lifts(data, base_dir, source), RulesConfig, source, RulesError)


def parse_rules_text(text: str, source: str, *, base_dir: Path) -> RulesConfig:
    """Validate rules TOML text (a draft in the console) with the messages :func:`load_rules` gives a file
    at ``source`` whose folder is ``base_dir``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{source}: not valid TOML: {exc}") from exc
    return parse_rules(data, source, base_dir=base_dir)
