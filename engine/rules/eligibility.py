"""Which of a member's candidates may appear in a challenge at all. Pure: no I/O.

An item is ineligible when the catalog does not know it, it is excluded (its own flag, its department,
its category or its id is on the exclusion lists), a promotion planned for the challenge week already
consumes its margin (``promo_stacked``: no reward stacked on it), or its margin rate is below the
minimum. Habitual
candidates are also suppressed when they are durables bought within ``durable_weeks``; stretch
candidates when the member already bought the category, or it was offered to the member within
``stretch_repeat_weeks``. Missing prices or margins are not judged here: the guards refuse them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from engine.candidates import Catalog, HabitualCandidate, ItemInfo, MemberCandidates, StretchCandidate
from engine.rules.config import EligibilityRules
from engine.rules.outcome import RuleResult

#: How many examples of removed candidates an explanation names per rule.
_EXAMPLES = 3

#: Every rule name under which this module removes candidates (what :meth:`Removals.results` reports).
REMOVAL_RULES: frozenset[str] = frozenset(
    {
        "unknown_item",
        "excluded",
        "promo_stacked",
        "min_margin_rate",
        "durable_recency",
        "stretch_already_bought",
        "stretch_repeat",
    }
)


@dataclass(frozen=True)
class EligibilityIndex:
    """The eligibility rules as sets, built once per rules file so each member costs set look-ups."""

    excluded_departments: frozenset[str]
    excluded_categories: frozenset[str]
    excluded_item_ids: frozenset[int | str]
    min_margin_rate: float
    durable_departments: frozenset[str]
    durable_categories: frozenset[str]
    durable_weeks: int
    stretch_repeat_weeks: int
    promo_min_store_share: float = 0.5
    promo_min_margin_left: float = 0.5

    @classmethod
    def from_rules(cls, rules: EligibilityRules) -> EligibilityIndex:
        """Compile ``rules``."""
        return cls(
            excluded_departments=frozenset(rules.excluded_departments),
            excluded_categories=frozenset(rules.excluded_categories),
            excluded_item_ids=frozenset(rules.excluded_item_ids),
            min_margin_rate=rules.min_margin_rate,
            durable_departments=frozenset(rules.recency.durable_departments),
            durable_categories=frozenset(rules.recency.durable_categories),
            durable_weeks=rules.recency.durable_weeks,
            stretch_repeat_weeks=rules.recency.stretch_repeat_weeks,
            promo_min_store_share=rules.promotions.min_store_share,
            promo_min_margin_left=rules.promotions.refuse_when_margin_left_below,
        )


@lru_cache(maxsize=32)
def eligibility_index(rules: EligibilityRules) -> EligibilityIndex:
    """The compiled index of ``rules``, cached (rules are frozen and hashable)."""
    return EligibilityIndex.from_rules(rules)


def item_block(item: ItemInfo, index: EligibilityIndex) -> tuple[str, str] | None:
    """``(rule, detail)`` when ``item`` may never carry an offer, else ``None``."""
    if item.excluded:
        return "excluded", f"item {item.item_id!r} is flagged excluded in the catalog"
    if item.item_id in index.excluded_item_ids:
        return "excluded", f"item {item.item_id!r} is on the excluded item list"
    if item.department in index.excluded_departments:
        return "excluded", f"item {item.item_id!r} is in excluded department {item.department!r}"
    if item.category in index.excluded_categories:
        return "excluded", f"item {item.item_id!r} is in excluded category {item.category!r}"
    stacked = promo_stacked(item, index)
    if stacked is not None:
        return "promo_stacked", stacked
    # NaN margin rates fall through on purpose: the guards refuse what they cannot evaluate
    if item.margin_rate < index.min_margin_rate:
        return (
            "min_margin_rate",
            f"item {item.item_id!r} margin rate {item.margin_rate:.1%} < minimum {index.min_margin_rate:.1%}",
        )
    return None


def promo_stacked(item: ItemInfo, index: EligibilityIndex) -> str | None:
    """Why a reward on ``item`` would stack on a promotion that consumes its margin, else ``None``.

    The item is promoted in the challenge week when ``promo_store_share >= promo_min_store_share``;
    it is then refused when :attr:`ItemInfo.promo_margin_left` is below ``promo_min_margin_left`` or
    cannot be computed (a guard that cannot be evaluated refuses).
    """
    if not item.promo_store_share >= index.promo_min_store_share:  # NaN share: no promotion known
        return None
    left = item.promo_margin_left
    if left >= index.promo_min_margin_left:
        return None
    stores = f"promoted in {item.promo_store_share:.0%} of stores in the challenge week"
    if math.isnan(left):
        return f"item {item.item_id!r} is {stores} and its margin is unknown: a reward cannot be checked"
    return (
        f"item {item.item_id!r} is {stores}: its expected {item.promo_discount_share:.0%} discount leaves "
        f"{max(left, -9.99):.0%} of its margin (< {index.promo_min_margin_left:.0%}); no reward stacked on it"
    )


def is_recent_durable(item: ItemInfo, last_week: int | None, week: int, index: EligibilityIndex) -> bool:
    """Whether ``item`` is a durable the member bought within ``durable_weeks`` before ``week``."""
    if last_week is None or index.durable_weeks <= 0:
        return False
    durable = item.department in index.durable_departments or item.category in index.durable_categories
    return durable and week - last_week <= index.durable_weeks


def is_repeat_stretch(category: str, week: int, stretch_weeks: Mapping[str, int], repeat_weeks: int) -> bool:
    """Whether ``category`` was a stretch pick for this member within ``repeat_weeks`` before ``week``."""
    offered = stretch_weeks.get(category)
    return offered is not None and 0 <= week - offered < repeat_weeks


@dataclass
class Removals:
    """Candidates removed per rule, counted, with a few examples for the explanation."""

    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, rule: str, detail: str) -> None:
        """Record one removal."""
        self.counts[rule] = self.counts.get(rule, 0) + 1
        shown = self.examples.setdefault(rule, [])
        if len(shown) < _EXAMPLES:
            shown.append(detail)

    def results(self, kind: str) -> list[RuleResult]:
        """One passed result per rule that removed ``kind`` candidates (the challenge itself may pass)."""
        return [
            RuleResult(rule, True, f"removed {n} {kind} candidate(s): " + "; ".join(self.examples[rule]))
            for rule, n in self.counts.items()
        ]


def eligible_habitual(
    member: MemberCandidates, catalog: Catalog, index: EligibilityIndex, week: int, limit: int
) -> tuple[list[tuple[HabitualCandidate, ItemInfo]], Removals]:
    """The member's first ``limit`` eligible habitual candidates (rank order, distinct items)."""
    kept: list[tuple[HabitualCandidate, ItemInfo]] = []
    seen: set[int | str] = set()
    removed = Removals()
    for cand in member.habitual:
        if len(kept) >= limit:
            break
        if cand.item_id in seen:
            continue
        seen.add(cand.item_id)
        item = catalog.get(cand.item_id)
        block = habitual_block(cand, item, index, week)
        if block is not None:
            removed.add(*block)
        elif item is not None:  # always: habitual_block refuses an unknown item
            kept.append((cand, item))
    return kept, removed


def habitual_block(
    cand: HabitualCandidate, item: ItemInfo | None, index: EligibilityIndex, week: int
) -> tuple[str, str] | None:
    """``(rule, detail)`` when the habitual candidate ``cand`` (catalog entry ``item``) may not be picked."""
    if item is None:
        return "unknown_item", f"item {cand.item_id!r} is not in the catalog"
    block = item_block(item, index)
    if block is not None:
        return block
    if is_recent_durable(item, cand.last_week, week, index):
        return (
            "durable_recency",
            f"durable item {item.item_id!r} bought in data week {cand.last_week}, "
            f"within {index.durable_weeks} weeks of data week {week}",
        )
    return None


def eligible_stretch(
    member: MemberCandidates,
    catalog: Catalog,
    index: EligibilityIndex,
    week: int,
    stretch_weeks: Mapping[str, int],
    limit: int,
) -> tuple[list[tuple[StretchCandidate, ItemInfo]], Removals]:
    """The member's first ``limit`` eligible stretch candidates (rank order, distinct categories)."""
    kept: list[tuple[StretchCandidate, ItemInfo]] = []
    seen: set[str] = set()
    removed = Removals()
    for cand in member.stretch:
        if len(kept) >= limit:
            break
        if cand.category in seen:
            continue
        seen.add(cand.category)
        if cand.category in member.bought_categories:
            removed.add("stretch_already_bought", f"member already bought in category {cand.category!r}")
            continue
        if cand.category in index.excluded_categories:
            removed.add("excluded", f"category {cand.category!r} is excluded")
            continue
        if is_repeat_stretch(cand.category, week, stretch_weeks, index.stretch_repeat_weeks):
            removed.add(
                "stretch_repeat",
                f"category {cand.category!r} was offered in week {stretch_weeks[cand.category]}, "
                f"within {index.stretch_repeat_weeks} weeks",
            )
            continue
        item = catalog.get(cand.suggested_item_id)
        if item is None:
            removed.add("unknown_item", f"suggested item {cand.suggested_item_id!r} is not in the catalog")
            continue
        if item.category != cand.category:
            removed.add(
                "unknown_item",
                f"suggested item {item.item_id!r} is in category {item.category!r}, not {cand.category!r}",
            )
            continue
        block = item_block(item, index)
        if block is not None:
            removed.add(*block)
            continue
        kept.append((cand, item))
    return kept, removed
