"""Alternative challenges for a member to choose from: the best ones with distinct stretch categories.

:func:`assemble_options` runs the same guarded search as :func:`~engine.challenge.assemble_challenge`
and keeps, in the search's order, up to ``n`` combinations that pass every guard on their own (each is
re-verified with the scalar guards) and whose stretch categories differ, so the options are real
alternatives. The first option is always the challenge :func:`assemble_challenge` would issue; when
nothing passes, the one answer is that challenge's explained no-offer.
"""

from __future__ import annotations

from engine.candidates import Catalog, MemberCandidates
from engine.challenge.assemble import _build, _Found, _search, _verify, assemble_challenge
from engine.challenge.model import Challenge
from engine.rules.config import RulesConfig
from engine.rules.history import MemberHistory
from engine.rules.negative import NO_SIGNALS, MemberSignals


def assemble_options(
    member: MemberCandidates,
    catalog: Catalog,
    rules: RulesConfig,
    week: int,
    n: int,
    *,
    history: MemberHistory | None = None,
    signals: MemberSignals | None = None,
    data_week: int | None = None,
    model_version: str,
    rules_version: str,
) -> list[Challenge]:
    """Up to ``n`` issued challenges with distinct stretch categories, best first (see the module).

    With ``n`` 1, or when nothing passes, the one element is what :func:`assemble_challenge` returns.
    """
    history = history or MemberHistory()
    first = assemble_challenge(
        member,
        catalog,
        rules,
        week,
        history=history,
        signals=signals,
        data_week=data_week,
        model_version=model_version,
        rules_version=rules_version,
    )
    if n <= 1 or first.status != "issued":
        return [first]
    found = _search(member, catalog, rules, week, history, signals or NO_SIGNALS, data_week)
    if not isinstance(found, _Found):  # cannot happen once the first one was issued; kept for types
        return [first]
    options = [first]
    categories = {first.stretch.category if first.stretch is not None else ""}
    for k in found.result.ranked.tolist():
        if len(options) >= n:
            break
        category = found.stretch[found.result.cs[k]][0].category
        if category in categories:
            continue
        verified = _verify(found, k, member.tier, rules)
        if verified.passed:
            options.append(_build(member, week, found, verified, (model_version, rules_version)))
            categories.add(category)
    return options
