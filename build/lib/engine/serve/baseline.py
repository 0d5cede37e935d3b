"""The experiment's baseline policy, applied to one member's candidate record at issuance.

The baseline answers "what would a simple, non-personalised-by-model challenge earn?": the member's two
most-bought products (by ``n_baskets``, the member's own purchase frequency, ignoring the model's score)
and the most popular stretch category the member never bought (the version's cold-start ranking of
categories, the same one unknown members get). It mirrors the replay simulator's
:func:`engine.experiments.policies.habit_stretch_policy`, but works on the per-member record the store
holds instead of the purchase history.

It still goes through :func:`engine.challenge.assemble_challenge` with the rules in force, so every
eligibility rule, guard, frequency cap and the budget apply exactly as for the recommender. The search
is narrowed to the first two eligible habitual products and the first eligible stretch category, so the
rules can only accept or refuse the baseline's picks, never swap in the model's favourites.
"""

from __future__ import annotations

import dataclasses

from engine.candidates import MemberCandidates
from engine.rules.config import RulesConfig

#: The baseline takes the first two eligible habitual products and the first eligible stretch category.
BASELINE_HABITUAL = 2
BASELINE_STRETCH = 1


def baseline_member(member: MemberCandidates, popular: MemberCandidates | None) -> MemberCandidates:
    """``member``'s record reordered the baseline's way.

    Parameters
    ----------
    member
        The member's record in the serving model version (or the cold-start record for an unknown one).
    popular
        The version's cold-start record: its stretch candidates are the categories in popularity order.

    Returns
    -------
    MemberCandidates
        Habitual candidates by ``n_baskets`` (most bought first; ties keep the model's order), stretch
        candidates: popular categories the member never bought first, then the member's own.
    """
    habitual = tuple(sorted(member.habitual, key=lambda c: -c.n_baskets))
    own = {c.category: c for c in member.stretch}
    ranked = (
        [] if popular is None else [c for c in popular.stretch if c.category not in member.bought_categories]
    )
    # The member's own estimate for a category, when the model has one, is a better guess of the
    # purchase probability the guards use than the population-wide popularity score.
    stretch = tuple(own.get(c.category, c) for c in ranked)
    stretch += tuple(c for c in member.stretch if c.category not in {s.category for s in stretch})
    return dataclasses.replace(member, habitual=habitual, stretch=stretch)


def baseline_rules(rules: RulesConfig) -> RulesConfig:
    """``rules`` with the combination search narrowed to the baseline's picks (every rule unchanged)."""
    search = rules.search.model_copy(
        update={"max_habitual": BASELINE_HABITUAL, "max_stretch": BASELINE_STRETCH}
    )
    return rules.model_copy(update={"search": search})
