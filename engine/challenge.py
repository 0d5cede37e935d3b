"""One member's weekly star challenge: two habitual products, one stretch category and a reward.

:func:`assemble_challenge` picks, among the member's eligible candidates, the combination with the best
expected incremental profit that passes every rule; if none does, it returns an explicit ``no_offer``
with the reason (never a money-losing fallback). :func:`assemble_batch` does so for every member of an
artifact and then applies the weekly budget across members.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict

from engine.candidates import Catalog, Id, ItemInfo, MemberCandidates, iter_member_candidates, paused_gc
from engine.rules.budget import select_within_budget
from engine.rules.config import RulesConfig, rules_version
from engine.rules.eligibility import eligibility_index, eligible_habitual, eligible_stretch
from engine.rules.explain import arithmetic_text, why_habitual, why_stretch
from engine.rules.guards import check_economic_guard, check_hard_guard, economics
from engine.rules.history import MemberHistory as MemberHistory  # re-exported: callers build it
from engine.rules.outcome import RuleResult
from engine.rules.search import PickArrays, search_combinations
from engine.rules.tiers import check_frequency, reward_of

if TYPE_CHECKING:
    from engine.artifact import CandidateArtifact


Status = Literal["issued", "no_offer"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class HabitualPick(_Frozen):
    """A product the member buys again and again; ``margin`` is the unit gross margin at shelf price."""

    item_id: Id
    name: str
    category: str
    price: float
    margin: float
    p_base: float
    p_offer: float


class StretchPick(_Frozen):
    """The new category, with the product suggested in it."""

    category: str
    item_id: Id
    name: str
    price: float
    margin: float
    p_base: float
    p_offer: float


class Reward(_Frozen):
    """Bonus stars for completing the challenge and what they cost the business in cash."""

    stars: int
    cash_cost: float


class RuleOutcome(_Frozen):
    """One rule's verdict for the explanation: ``passed`` False means the rule fired."""

    rule: str
    passed: bool
    detail: str


class Explanation(_Frozen):
    """Why each pick, the money arithmetic, and which rules passed or fired."""

    picks: list[str]
    arithmetic: str
    rules: list[RuleOutcome]


class Challenge(_Frozen):
    """The challenge for one member and week, or an explicit ``no_offer`` with its reason.

    ``reason_code`` is the machine-readable rule name (``"issued"`` when issued); ``reason`` says why in
    words. Money: ``expected_cost`` = reward cash cost x ``p_complete``; ``expected_profit`` = sum of
    unit margin x (p_offer - p_base) over the three picks minus ``expected_cost``.
    """

    member_id: Id
    week: int
    tier: str
    status: Status
    reason_code: str
    reason: str
    habitual: list[HabitualPick]
    stretch: StretchPick | None
    reward: Reward | None
    expected_cost: float
    expected_profit: float
    p_complete: float
    explanation: Explanation
    model_version: str
    rules_version: str


#: Stable leading columns of :func:`challenges_frame` (the file judged from outside the code).
FRAME_COLUMNS: tuple[str, ...] = (
    "member_id",
    "week",
    "habitual_1",
    "habitual_2",
    "stretch_category",
    "stretch_product",
    "reward_cost",
    "expected_profit",
    "status",
    "reason",
)


# Assembly builds plain dicts and validates the whole challenge once: one pass through pydantic's core
# is several times cheaper than constructing each nested model on its own.
Fields = dict[str, Any]


def _outcomes(results: Sequence[RuleResult]) -> list[Fields]:
    return [{"rule": r.rule, "passed": r.passed, "detail": r.detail} for r in results]


def _no_offer(
    member: MemberCandidates,
    week: int,
    code: str,
    reason: str,
    results: Sequence[RuleResult],
    arithmetic: str,
    versions: tuple[str, str],
) -> Challenge:
    return Challenge.model_validate(
        {
            "member_id": member.member_id,
            "week": week,
            "tier": member.tier,
            "status": "no_offer",
            "reason_code": code,
            "reason": reason,
            "habitual": [],
            "stretch": None,
            "reward": None,
            "expected_cost": 0.0,
            "expected_profit": 0.0,
            "p_complete": 0.0,
            "explanation": {"picks": [], "arithmetic": arithmetic, "rules": _outcomes(results)},
            "model_version": versions[0],
            "rules_version": versions[1],
        }
    )


def _pick(category: str, item: ItemInfo, p_base: float, p_offer: float) -> Fields:
    """A habitual or stretch pick's fields (the two models share them)."""
    return {
        "item_id": item.item_id,
        "name": item.name,
        "category": category,
        "price": item.price,
        "margin": item.unit_margin,
        "p_base": p_base,
        "p_offer": p_offer,
    }


def assemble_challenge(
    member: MemberCandidates,
    catalog: Catalog,
    rules: RulesConfig,
    week: int,
    *,
    history: MemberHistory | None = None,
    model_version: str,
    rules_version: str,
) -> Challenge:
    """The best rule-abiding challenge for ``member`` in ``week``, or a ``no_offer`` with the reason.

    Among the top eligible candidates (``rules.search``) every pair of habitual products is combined
    with every stretch category; of the combinations that pass both guards the one with the highest
    expected incremental profit is issued. Nothing passing means ``no_offer``, never a fallback.
    """
    history = history or MemberHistory()
    versions = (model_version, rules_version)
    results: list[RuleResult] = []
    policy = rules.tiers.get(member.tier)
    if policy is None:
        why = f"no tier policy for tier {member.tier!r}"
        results.append(RuleResult("tier_policy", False, why))
        return _no_offer(member, week, "tier_policy", why, results, "", versions)
    freq = check_frequency(policy, member.tier, week, history.last_offer_week)
    results.append(freq)
    if not freq.passed:
        return _no_offer(member, week, freq.rule, freq.detail, results, "", versions)
    stars, cost, reward_line = reward_of(policy, member.tier)
    results.append(reward_line)

    index = eligibility_index(rules.eligibility)
    habitual, h_removed = eligible_habitual(member, catalog, index, week, rules.search.max_habitual)
    stretch, s_removed = eligible_stretch(
        member, catalog, index, week, history.stretch_weeks, rules.search.max_stretch
    )
    results += h_removed.results("habitual") + s_removed.results("stretch")
    if len(habitual) < 2:
        removed = ", ".join(f"{n} {rule}" for rule, n in h_removed.counts.items()) or "none removed"
        why = (
            f"only {len(habitual)} eligible habitual product(s) of {len(member.habitual)} candidate(s) "
            f"({removed}); 2 are needed"
        )
        results.append(RuleResult("no_habitual", False, why))
        return _no_offer(member, week, "no_habitual", why, results, "", versions)
    if not stretch:
        why = f"no eligible stretch category among {len(member.stretch)} candidate(s)"
        results.append(RuleResult("no_stretch", False, why))
        return _no_offer(member, week, "no_stretch", why, results, "", versions)

    econ = rules.economic_guard
    h = PickArrays.build(
        [i.unit_margin for _, i in habitual],
        [c.score for c, _ in habitual],
        [i.category for _, i in habitual],
        econ.habitual_lift,
    )
    s = PickArrays.build(
        [i.unit_margin for _, i in stretch],
        [c.score for c, _ in stretch],
        [i.category for _, i in stretch],
        econ.stretch_lift,
    )
    found = search_combinations(h, s, cost, rules.hard_guard, econ)
    ci, cj, cs = found.ci, found.cj, found.cs
    for k in [*found.ranked.tolist(), 0]:
        (c1, i1), (c2, i2), (sc, si) = habitual[ci[k]], habitual[cj[k]], stretch[cs[k]]
        h1 = _pick(i1.category, i1, c1.score, float(h.p_offer[ci[k]]))
        h2 = _pick(i2.category, i2, c2.score, float(h.p_offer[cj[k]]))
        st = _pick(sc.category, si, sc.score, float(s.p_offer[cs[k]]))
        margins = (h1["margin"], h2["margin"], st["margin"])
        p_base = (h1["p_base"], h2["p_base"], st["p_base"])
        p_offer = (h1["p_offer"], h2["p_offer"], st["p_offer"])
        hard = check_hard_guard(margins, cost, rules.hard_guard)
        money = check_economic_guard(margins, p_base, p_offer, cost, econ)
        arithmetic = arithmetic_text(margins, p_base, p_offer, cost)
        if hard.passed and money.passed and bool(found.distinct[k]):
            eco = economics(margins, p_base, p_offer, cost)
            reasons = [
                why_habitual(i1.name, i1.item_id, i1.category, c1, h1["p_offer"]),
                why_habitual(i2.name, i2.item_id, i2.category, c2, h2["p_offer"]),
                why_stretch(sc.category, si.name, si.item_id, sc.score, st["p_offer"]),
            ]
            return Challenge.model_validate(
                {
                    "member_id": member.member_id,
                    "week": week,
                    "tier": member.tier,
                    "status": "issued",
                    "reason_code": "issued",
                    "reason": "all rules passed",
                    "habitual": [h1, h2],
                    "stretch": st,
                    "reward": {"stars": stars, "cash_cost": cost},
                    "expected_cost": eco.expected_cost,
                    "expected_profit": eco.expected_profit,
                    "p_complete": eco.p_complete,
                    "explanation": {
                        "picks": reasons,
                        "arithmetic": arithmetic,
                        "rules": _outcomes([*results, hard, money]),
                    },
                    "model_version": model_version,
                    "rules_version": rules_version,
                }
            )
    # nothing passed: explain with the model's favourite combination (index 0) and the counts
    if not hard.passed:
        failed = hard
    elif not money.passed:
        failed = money
    else:
        failed = RuleResult("stretch_not_new", False, "the stretch category is a habitual pick's category")
    code = "unevaluable" if "cannot be evaluated" in failed.detail else failed.rule
    results += [hard, money, RuleResult("search", False, found.summary())]
    return _no_offer(member, week, code, f"{failed.rule}: {failed.detail}", results, arithmetic, versions)


def apply_budget(challenges: Sequence[Challenge], budget: float | None) -> list[Challenge]:
    """Withhold issued challenges beyond the weekly budget on expected reward cost.

    Kept greedily by expected profit per unit of expected cost (:mod:`engine.rules.budget`); a withheld
    challenge becomes ``no_offer`` with reason ``budget`` and keeps its arithmetic in the explanation.
    """
    issued = [k for k, c in enumerate(challenges) if c.status == "issued"]
    keep = select_within_budget(
        [challenges[k].expected_cost for k in issued], [challenges[k].expected_profit for k in issued], budget
    )
    out = list(challenges)
    for k, kept in zip(issued, keep.tolist(), strict=True):
        if kept:
            continue
        c = challenges[k]
        why = (
            f"weekly budget {budget:.2f} on expected reward cost is spent on challenges with more expected "
            f"profit per unit of cost (this one: {c.expected_profit:.4f} for {c.expected_cost:.4f})"
        )
        rules = [*c.explanation.rules, RuleOutcome(rule="budget", passed=False, detail=why)]
        member = MemberCandidates(c.member_id, c.tier, (), (), frozenset())
        out[k] = _no_offer(
            member,
            c.week,
            "budget",
            f"budget: {why}",
            [RuleResult(r.rule, r.passed, r.detail) for r in rules],
            c.explanation.arithmetic,
            (c.model_version, c.rules_version),
        )
    return out


def assemble_batch(
    artifact: CandidateArtifact,
    rules: RulesConfig,
    week: int,
    history: Mapping[Id, MemberHistory] | None = None,
) -> list[Challenge]:
    """Every member's challenge for ``week``, with the weekly budget applied across members."""
    catalog = Catalog.from_artifact(artifact)
    version = rules_version(rules)
    model_version = artifact.manifest.model_version
    history = history or {}
    # the batch allocates millions of small acyclic objects that all stay alive: see paused_gc
    with paused_gc():
        challenges = [
            assemble_challenge(
                member,
                catalog,
                rules,
                week,
                history=history.get(member.member_id),
                model_version=model_version,
                rules_version=version,
            )
            for member in iter_member_candidates(artifact)
        ]
    return apply_budget(challenges, rules.budget.weekly_expected_cost)


def _id_column(values: list[Id | None]) -> pd.Series:
    """Ids as the source typed them: nullable integers when every id is an int, else strings."""
    present = [v for v in values if v is not None]
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return pd.Series(values, dtype="Int64")
    return pd.Series([None if v is None else str(v) for v in values], dtype="string")


def challenges_frame(challenges: Sequence[Challenge]) -> pd.DataFrame:
    """One row per challenge with the stable columns :data:`FRAME_COLUMNS` first, then extras."""
    h1 = [c.habitual[0].item_id if c.habitual else None for c in challenges]
    h2 = [c.habitual[1].item_id if len(c.habitual) > 1 else None for c in challenges]
    frame = pd.DataFrame(
        {
            "member_id": _id_column([c.member_id for c in challenges]),
            "week": pd.Series([c.week for c in challenges], dtype="int64"),
            "habitual_1": _id_column(h1),
            "habitual_2": _id_column(h2),
            "stretch_category": pd.Series(
                [c.stretch.category if c.stretch else None for c in challenges], dtype="string"
            ),
            "stretch_product": _id_column([c.stretch.item_id if c.stretch else None for c in challenges]),
            "reward_cost": pd.Series(
                [c.reward.cash_cost if c.reward else 0.0 for c in challenges], dtype=float
            ),
            "expected_profit": pd.Series([c.expected_profit for c in challenges], dtype=float),
            "status": pd.Series([c.status for c in challenges], dtype="string"),
            "reason": pd.Series([c.reason for c in challenges], dtype="string"),
            "reason_code": pd.Series([c.reason_code for c in challenges], dtype="string"),
            "tier": pd.Series([c.tier for c in challenges], dtype="string"),
            "reward_stars": pd.Series([c.reward.stars if c.reward else 0 for c in challenges], dtype="int64"),
            "expected_cost": pd.Series([c.expected_cost for c in challenges], dtype=float),
            "p_complete": pd.Series([c.p_complete for c in challenges], dtype=float),
            "model_version": pd.Series([c.model_version for c in challenges], dtype="string"),
            "rules_version": pd.Series([c.rules_version for c in challenges], dtype="string"),
        }
    )
    return frame
