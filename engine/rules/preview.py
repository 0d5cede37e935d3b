"""What a rules change would do: compare two batches of challenges for the same members. Pure, no I/O.

The marketer's question is "if I ship these rules, who gets a different challenge, how many offers are
issued or withheld and why, and what does it cost and earn?" :func:`compare` answers it overall and by
tier, ladder stage and segment (a member counts in each of their segments), as plain data that the CLI
prints as a table or as JSON.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from engine.data.schema import TIERS
from engine.loyalty.config import STAGES
from engine.rules.eligibility import REMOVAL_RULES

if TYPE_CHECKING:
    from engine.challenge import Challenge

#: How many changed members a preview lists by name.
_EXAMPLES = 10


@dataclass
class Totals:
    """One rules file's results over a group of members."""

    members: int = 0
    issued: int = 0
    withheld: int = 0
    withheld_by_reason: dict[str, int] = field(default_factory=dict)
    #: Members with at least one candidate removed by each eligibility rule (e.g. ``promo_stacked``),
    #: whether or not they still got a challenge.
    members_with_removals: dict[str, int] = field(default_factory=dict)
    expected_reward_cost: float = 0.0
    expected_profit: float = 0.0

    def add(self, c: Challenge) -> None:
        """Count one challenge."""
        self.members += 1
        for rule in {r.rule for r in c.explanation.rules if r.rule in REMOVAL_RULES}:
            self.members_with_removals[rule] = self.members_with_removals.get(rule, 0) + 1
        if c.status == "issued":
            self.issued += 1
            self.expected_reward_cost += c.expected_cost
            self.expected_profit += c.expected_profit
        else:
            self.withheld += 1
            self.withheld_by_reason[c.reason_code] = self.withheld_by_reason.get(c.reason_code, 0) + 1


@dataclass
class GroupDiff:
    """Current vs candidate rules for one group of members (all, or one tier)."""

    current: Totals = field(default_factory=Totals)
    candidate: Totals = field(default_factory=Totals)
    changed: int = 0


@dataclass
class Preview:
    """The whole comparison; ``by_tier`` is keyed by tier name."""

    current_version: str
    candidate_version: str
    overall: GroupDiff
    by_tier: dict[str, GroupDiff]
    changes: dict[str, int]
    examples: list[dict[str, Any]]
    by_stage: dict[str, GroupDiff] = field(default_factory=dict)
    by_segment: dict[str, GroupDiff] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return asdict(self)


def signature(c: Challenge) -> tuple[Any, ...]:
    """What a member would see: status, the picks and the reward (not the money estimates)."""
    return (
        c.status,
        tuple(p.item_id for p in c.habitual),
        None if c.stretch is None else (c.stretch.category, c.stretch.item_id),
        None if c.reward is None else (c.reward.stars, c.reward.cash_cost),
    )


def _kind(before: Challenge, after: Challenge) -> str:
    if before.status != after.status:
        return "now_issued" if after.status == "issued" else "now_withheld"
    if before.status == "no_offer":
        return "withheld_other_reason"
    return "different_challenge"


def _describe(c: Challenge) -> str:
    if c.status != "issued" or c.stretch is None or c.reward is None:
        return f"no offer ({c.reason_code})"
    picks = ", ".join(str(p.item_id) for p in c.habitual)
    return f"{picks} + {c.stretch.category} / {c.reward.stars} stars"


def _tier_order(tier: str) -> tuple[int, str]:
    """Tiers in rank order (bronze first); unknown tiers after them, by name."""
    return (TIERS.index(tier) if tier in TIERS else len(TIERS), tier)


#: Stage of a member the artifact has no loyalty record for.
UNKNOWN_STAGE = "unknown"
#: Member id -> (stage or None, segments): what the breakdown by stage and segment reads.
Groups = Mapping[Any, tuple[str | None, tuple[str, ...]]]


def compare(
    current: Sequence[Challenge], candidate: Sequence[Challenge], groups: Groups | None = None
) -> Preview:
    """Compare two batches for the same members in the same order.

    ``groups`` gives each member's stage and segments (default: none known; every member in stage
    ``unknown``, no segment).

    Raises
    ------
    ValueError
        When the batches are not for the same members (a programming error, not a rules error).
    """
    if [c.member_id for c in current] != [c.member_id for c in candidate]:
        raise ValueError("current and candidate batches must cover the same members in the same order")
    overall = GroupDiff()
    by_tier: dict[str, GroupDiff] = {}
    by_stage: dict[str, GroupDiff] = {}
    by_segment: dict[str, GroupDiff] = {}
    groups = groups or {}
    changes: Counter[str] = Counter()
    examples: list[dict[str, Any]] = []
    for before, after in zip(current, candidate, strict=True):
        stage, segments = groups.get(before.member_id, (None, ()))
        member_groups = [
            by_tier.setdefault(before.tier, GroupDiff()),
            by_stage.setdefault(stage or UNKNOWN_STAGE, GroupDiff()),
            *(by_segment.setdefault(name, GroupDiff()) for name in segments),
        ]
        for g in (overall, *member_groups):
            g.current.add(before)
            g.candidate.add(after)
        if signature(before) == signature(after):
            if before.status == "no_offer" and before.reason_code != after.reason_code:
                changes["withheld_other_reason"] += 1
            continue
        kind = _kind(before, after)
        changes[kind] += 1
        for g in (overall, *member_groups):
            g.changed += 1
        if len(examples) < _EXAMPLES:
            examples.append(
                {
                    "member_id": before.member_id,
                    "tier": before.tier,
                    "change": kind,
                    "current": _describe(before),
                    "candidate": _describe(after),
                    "candidate_reason": after.reason,
                }
            )
    return Preview(
        current_version=current[0].rules_version if current else "",
        candidate_version=candidate[0].rules_version if candidate else "",
        overall=overall,
        by_tier=dict(sorted(by_tier.items(), key=lambda kv: _tier_order(kv[0]))),
        changes=dict(changes),
        examples=examples,
        by_stage=dict(sorted(by_stage.items(), key=lambda kv: _stage_order(kv[0]))),
        by_segment=by_segment,
    )


def _stage_order(stage: str) -> tuple[int, str]:
    """Stages in ladder order; ``unknown`` last."""
    return (STAGES.index(stage) if stage in STAGES else len(STAGES), stage)
