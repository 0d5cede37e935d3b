"""Assembling one member's challenge: search, verify, build.

:func:`assemble_challenge` picks, among the member's eligible candidates, the best combination that passes
every rule; if none does, it returns an explicit ``no_offer`` with the reason (never a money-losing
fallback). The weekly batch over every member and the weekly budgets across members are
:mod:`engine.challenge.week`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from engine.candidates import (
    Catalog,
    HabitualCandidate,
    ItemInfo,
    MemberCandidates,
    StretchCandidate,
)
from engine.challenge.model import Candidate, Challenge, Fields, _outcomes, _pick, no_offer
from engine.challenge.winback import member_policy, winback_fields
from engine.rules.config import RulesConfig, TierPolicy
from engine.rules.eligibility import eligibility_index, eligible_habitual, eligible_stretch
from engine.rules.explain import arithmetic_text, why_habitual, why_stretch
from engine.rules.guards import check_economic_guard, check_hard_guard, check_reachable, economics
from engine.rules.history import MemberHistory
from engine.rules.lift import PickKind
from engine.rules.negative import NO_SIGNALS, MemberSignals, reaction_cost, signal_policy
from engine.rules.outcome import RuleResult
from engine.rules.search import PickArrays, SearchResult, search_combinations
from engine.rules.targets import resolve_target, target_line, targeted_eligibility, targeted_policy
from engine.rules.tiers import check_frequency, reward_line
from engine.rules.winback import WinbackOffer


def habit_value(item: ItemInfo) -> float:
    """The margin a new adopter of ``item``'s category goes on to spend on it after the first purchase.

    Learned per category from the data before the cutoff (:mod:`engine.train.habit`: mean over past
    adopters, those who never came back counting 0); 0 when the artifact has none. Never negative.
    """
    value = item.repeat_margin
    return value if math.isfinite(value) and value > 0 else 0.0


def _pick_arrays(
    picks: Sequence[tuple[Candidate, ItemInfo]], kind: PickKind, rules: RulesConfig
) -> PickArrays:
    """A pick kind's eligible candidates as arrays, with their lifts and values."""
    econ = rules.economic_guard
    habit = kind == "stretch" and econ.count_habit_value
    by_spend = kind == "stretch" and rules.search.stretch_value == "adopter_spend"
    return PickArrays.build(
        [i.unit_margin for _, i in picks],
        [i.unit_margin + (habit_value(i) if habit else 0.0) for _, i in picks],
        [c.score for c, _ in picks],
        [econ.lifts.estimate(kind, i.department) for _, i in picks],
        [i.category for _, i in picks],
        econ.lift_quantile,
        [i.adopter_spend for _, i in picks] if by_spend else None,
    )


def _search(
    member: MemberCandidates,
    catalog: Catalog,
    rules: RulesConfig,
    week: int,
    history: MemberHistory,
    signals: MemberSignals,
    data_week: int | None = None,
) -> _Found | tuple[str, str, list[RuleResult]]:
    """The guarded search over the member's eligible candidates, or why there is nothing to search.

    ``data_week`` is the week the candidates' purchase weeks are counted against (the model's challenge
    week, a week of the data); ``None``: ``week`` (the weekly batch, where the two are the same).
    """
    policy = rules.tiers.get(member.tier)
    if policy is None:
        why = f"no tier policy for tier {member.tier!r}"
        return "tier_policy", why, [RuleResult("tier_policy", False, why)]
    target = resolve_target(rules.targets, member.tier, member.stage, member.segments)
    results = (
        [RuleResult("target", target is None or target.enabled, target_line(target))] if rules.targets else []
    )
    if target is not None and not target.enabled:
        return "target_disabled", results[0].detail, results
    said = signal_policy(signals, rules.negative_signals)
    if said.reasons:
        results.append(RuleResult("negative_signals", said.stop is None, "; ".join(said.reasons)))
    if said.stop is not None:
        return f"signal_{said.stop}", results[-1].detail, results
    if not said.message:
        results.append(RuleResult("message_channel", False, "in-app only: no message is sent"))
    eligibility = rules.eligibility
    if target is not None:
        policy, eligibility = targeted_policy(policy, target), targeted_eligibility(eligibility, target)
    # a win-back reward and the reward variation apply on top of the group's target
    policy, winback = member_policy(policy, member, rules, week)
    if said.extra_weeks:
        gap = policy.min_weeks_between_offers + said.extra_weeks
        policy = policy.model_copy(update={"min_weeks_between_offers": gap})
    freq = check_frequency(policy, member.tier, week, history.last_offer_week)
    results.append(freq)
    if not freq.passed:
        return freq.rule, freq.detail, results
    index = eligibility_index(eligibility)
    bought_asof = week if data_week is None else data_week
    habitual, h_removed = eligible_habitual(member, catalog, index, bought_asof, rules.search.max_habitual)
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
        return "no_habitual", why, [*results, RuleResult("no_habitual", False, why)]
    if not stretch:
        why = f"no eligible stretch category among {len(member.stretch)} candidate(s)"
        return "no_stretch", why, [*results, RuleResult("no_stretch", False, why)]
    h = _pick_arrays(habitual, "habitual", rules)
    s = _pick_arrays(stretch, "stretch", rules)
    reaction = reaction_cost(signals, rules.negative_signals)
    found = search_combinations(
        h, s, policy, rules.hard_guard, rules.economic_guard, rules.search.stretch_value_exponent, reaction
    )
    return _Found(policy, habitual, stretch, h, s, found, results, winback, reaction)


@dataclass(frozen=True)
class _Found:
    """A member's searched combinations, with what the explanation needs."""

    policy: TierPolicy
    habitual: list[tuple[HabitualCandidate, ItemInfo]]
    stretch: list[tuple[StretchCandidate, ItemInfo]]
    h: PickArrays
    s: PickArrays
    result: SearchResult
    rules_so_far: list[RuleResult]
    winback: WinbackOffer | None = None
    #: Expected cost of a negative reaction to this member's offer (:mod:`engine.rules.negative`).
    reaction: float = 0.0


@dataclass(frozen=True)
class _Verified:
    """One combination re-checked with the scalar guards, explained."""

    k: int
    picks: tuple[Fields, Fields, Fields]
    stars: int
    cost: float
    results: list[RuleResult]
    arithmetic: str
    passed: bool


def _verify(found: _Found, k: int, tier: str, rules: RulesConfig) -> _Verified:
    """Re-check combination ``k`` with the scalar (explained) guards; the vectorised search chose it."""
    r, h, s, policy = found.result, found.h, found.s, found.policy
    (c1, i1), (c2, i2), (sc, si) = found.habitual[r.ci[k]], found.habitual[r.cj[k]], found.stretch[r.cs[k]]
    h1 = _pick(i1.category, i1, c1.score, float(h.p_offer[r.ci[k]]))
    h2 = _pick(i2.category, i2, c2.score, float(h.p_offer[r.cj[k]]))
    st = _pick(sc.category, si, sc.score, float(s.p_offer[r.cs[k]]))
    margins = (h1["margin"], h2["margin"], st["margin"])
    values = (float(h.value[r.ci[k]]), float(h.value[r.cj[k]]), float(s.value[r.cs[k]]))
    p_base = (h1["p_base"], h2["p_base"], st["p_base"])
    p_offer = (h1["p_offer"], h2["p_offer"], st["p_offer"])
    stars = int(r.table.stars[k]) or policy.stars
    cost = stars * policy.cash_per_star
    reward = reward_line(policy, tier, stars)
    hard = check_hard_guard(margins, cost, rules.hard_guard)
    money = check_economic_guard(values, p_base, p_offer, cost, rules.economic_guard, found.reaction)
    reach = check_reachable(economics(values, p_base, p_offer, cost).p_complete, tier, policy)
    new = RuleResult(
        "stretch_not_new",
        bool(r.distinct[k]),
        "the stretch category is new next to the habitual picks"
        if r.distinct[k]
        else "the stretch category is a habitual pick's category",
    )
    checks = [reward, hard, money, reach, new]
    return _Verified(
        k,
        (h1, h2, st),
        stars,
        cost,
        checks,
        arithmetic_text(values, p_base, p_offer, cost, found.reaction),
        all(c.passed for c in checks),
    )


def _build(
    member: MemberCandidates, week: int, found: _Found, v: _Verified, versions: tuple[str, str]
) -> Challenge:
    """The issued challenge of a verified combination."""
    r = found.result
    h1, h2, st = v.picks
    (c1, i1), (c2, i2), (sc, si) = (
        found.habitual[r.ci[v.k]],
        found.habitual[r.cj[v.k]],
        found.stretch[r.cs[v.k]],
    )
    p_base = (h1["p_base"], h2["p_base"], st["p_base"])
    p_offer = (h1["p_offer"], h2["p_offer"], st["p_offer"])
    values = (
        float(found.h.value[r.ci[v.k]]),
        float(found.h.value[r.cj[v.k]]),
        float(found.s.value[r.cs[v.k]]),
    )
    eco = economics(values, p_base, p_offer, v.cost, found.reaction)
    trial = bool(found.h.trial[r.ci[v.k]] or found.h.trial[r.cj[v.k]] or found.s.trial[r.cs[v.k]])
    reasons = [
        why_habitual(i1.name, i1.item_id, i1.category, c1, h1["p_offer"]),
        why_habitual(i2.name, i2.item_id, i2.category, c2, h2["p_offer"]),
        why_stretch(sc.category, si.name, si.item_id, sc.score, st["p_offer"]),
    ]
    if found.winback is not None:
        reasons.insert(0, found.winback.text)
    if trial:
        reasons.append(
            "trial: the offer's lift on these picks is a prior, not yet measured; this challenge is part "
            "of a bounded trial that measures it"
        )
    return Challenge.model_validate(
        {
            "member_id": member.member_id,
            "week": week,
            "tier": member.tier,
            "status": "issued",
            "reason_code": "issued",
            "reason": "all rules passed",
            "habitual": [h1, h2],
            "stretch": {**st, "habit_value": values[2] - st["margin"]},
            "reward": {"stars": v.stars, "cash_cost": v.cost},
            "expected_cost": eco.expected_cost,
            "expected_profit": eco.expected_profit,
            "p_complete": eco.p_complete,
            "trial": trial,
            "explanation": {
                "picks": reasons,
                "arithmetic": v.arithmetic,
                "rules": _outcomes(
                    [*found.rules_so_far, *v.results, *winback_fields(found.winback, member)[1]]
                ),
            },
            "model_version": versions[0],
            "rules_version": versions[1],
            "winback": winback_fields(found.winback, member)[0],
        }
    )


def assemble_challenge(
    member: MemberCandidates,
    catalog: Catalog,
    rules: RulesConfig,
    week: int,
    *,
    history: MemberHistory | None = None,
    signals: MemberSignals | None = None,
    data_week: int | None = None,
    model_version: str,
    rules_version: str,
) -> Challenge:
    """The best rule-abiding challenge for ``member`` in ``week``, or a ``no_offer`` with the reason.

    ``week`` is the week the challenge is for (serving's calendar in the service); the candidates' purchase
    weeks (``last_week``) are weeks of the data, so the durables rule counts them against ``data_week``, the
    model's challenge week (``None``: ``week``, as in the weekly batch where both are the same week).

    Three steps: :func:`_search` combines every pair of the top eligible habitual products with every
    top eligible stretch category and ranks those passing every guard (vectorised); :func:`_verify`
    re-checks the best one with the scalar guards, which explain themselves; :func:`_build` makes the
    challenge. Nothing passing means ``no_offer``, never a fallback. The first matching ``[[targets]]``
    entry adjusts the tier's policy and exclusions (:mod:`engine.rules.targets`); the member's negative
    ``signals`` may stop or thin the offers and price the risk of a negative reaction in
    (:mod:`engine.rules.negative`).
    """
    history = history or MemberHistory()
    versions = (model_version, rules_version)
    found = _search(member, catalog, rules, week, history, signals or NO_SIGNALS, data_week)
    if not isinstance(found, _Found):
        code, why, results = found
        return no_offer(member.member_id, member.tier, week, code, why, results, "", versions)
    for k in found.result.ranked.tolist():
        verified = _verify(found, k, member.tier, rules)
        if verified.passed:
            return _build(member, week, found, verified, versions)
    # nothing passed: explain with the model's favourite combination (index 0) and the counts
    v = _verify(found, 0, member.tier, rules)
    failed = next((c for c in v.results if not c.passed), RuleResult("search", False, "no combination"))
    code = "unevaluable" if "cannot be evaluated" in failed.detail else failed.rule
    results = [*found.rules_so_far, *v.results, RuleResult("search", False, found.result.summary())]
    return no_offer(
        member.member_id,
        member.tier,
        week,
        code,
        f"{failed.rule}: {failed.detail}",
        results,
        v.arithmetic,
        versions,
    )
