"""The weekly batch: every member's challenge for a week, then the weekly budgets across members.

:func:`assemble_week` assembles every member of an artifact block by block
(:func:`~engine.challenge.blocks.assemble_block` calls :func:`~engine.challenge.assemble.assemble_challenge`
for each member), then :func:`allocate_week` withholds the issued challenges beyond the weekly trial cap
and budget and returns the budgets' shadow prices (what serving applies to each first issuance).
:func:`assemble_batch` and :func:`apply_budget` are the same without the prices.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from engine.batch.mapper import BlockMapper, InProcessMapper
from engine.candidates import Catalog, Id
from engine.challenge.blocks import AssemblyInputs, MemberBlock, assemble_block, split_members
from engine.challenge.model import Challenge, no_offer
from engine.rules.budget import BudgetPrices, ShadowPrice, allocate_budget, tie_key
from engine.rules.config import Budget, RulesConfig, rules_version
from engine.rules.history import MemberHistory
from engine.rules.negative import MemberSignals
from engine.rules.outcome import RuleResult

if TYPE_CHECKING:
    from engine.artifact import CandidateArtifact


def _withhold(
    challenges: list[Challenge], rows: Sequence[int], limit: float | None, code: str, what: str
) -> ShadowPrice | None:
    """Turn the challenges at ``rows`` the budget does not keep into ``no_offer`` with ``code``, in place.

    Returns the shadow price (``None``: the budget does not bind).
    """
    alloc = allocate_budget(
        [challenges[k].expected_cost for k in rows],
        [challenges[k].expected_profit for k in rows],
        limit,
        [tie_key(challenges[k].member_id) for k in rows],
    )
    for k, kept in zip(rows, alloc.keep.tolist(), strict=True):
        if kept:
            continue
        c = challenges[k]
        price = alloc.shadow_price.ratio if alloc.shadow_price is not None else float("nan")
        why = (
            f"{what} {limit:.2f} on expected reward cost goes to challenges with more expected profit per "
            f"unit of cost than the shadow price {price:.4f} (this one: "
            f"{c.expected_profit:.4f} for {c.expected_cost:.4f})"
        )
        results = [RuleResult(r.rule, r.passed, r.detail) for r in c.explanation.rules]
        challenges[k] = no_offer(
            c.member_id,
            c.tier,
            c.week,
            code,
            f"{code}: {why}",
            [*results, RuleResult(code, False, why)],
            c.explanation.arithmetic,
            (c.model_version, c.rules_version),
        )
    return alloc.shadow_price


def allocate_week(challenges: Sequence[Challenge], budget: Budget) -> tuple[list[Challenge], BudgetPrices]:
    """Withhold issued challenges beyond the weekly budgets; return them with the week's shadow prices.

    First the trial cap over challenges whose lift is only a prior (reason ``trial_budget``), then the
    weekly budget over all (reason ``budget``); each keeps challenges by expected profit per unit of
    expected cost above its shadow price (:mod:`engine.rules.budget`), the prices serving applies to
    each first issuance. A withheld challenge keeps its arithmetic in the explanation.
    """
    out = list(challenges)
    trial = [k for k, c in enumerate(out) if c.status == "issued" and c.trial]
    trial_price = _withhold(out, trial, budget.weekly_trial_cost, "trial_budget", "weekly trial budget")
    issued = [k for k, c in enumerate(out) if c.status == "issued"]
    total_price = _withhold(out, issued, budget.weekly_expected_cost, "budget", "weekly budget")
    return out, BudgetPrices(trial_price, total_price)


def apply_budget(challenges: Sequence[Challenge], budget: Budget) -> list[Challenge]:
    """:func:`allocate_week` without the prices."""
    return allocate_week(challenges, budget)[0]


def assemble_week(
    artifact: CandidateArtifact,
    rules: RulesConfig,
    week: int,
    history: Mapping[Id, MemberHistory] | None = None,
    signals: Mapping[Id, MemberSignals] | None = None,
    *,
    mapper: BlockMapper | None = None,
    block_members: int | None = None,
) -> tuple[list[Challenge], BudgetPrices]:
    """Every member's challenge for ``week`` under the weekly budgets, and the budgets' shadow prices.

    Members are assembled block by block by ``mapper`` (default: this process, one block of everyone;
    ``block_members`` per block otherwise) with :func:`~engine.challenge.blocks.assemble_block`; the
    budgets are then allocated over all of them at once. Any mapper and block size give the same week.
    ``signals`` are the members' negative signals (:mod:`engine.rules.negative`; none: the base rate).
    """
    mapper = mapper or InProcessMapper()
    inputs = AssemblyInputs(
        Catalog.from_artifact(artifact), rules, week, artifact.manifest.model_version, rules_version(rules)
    )
    if block_members is None:
        blocks = [MemberBlock(artifact, history or {}, signals or {})]
    else:
        blocks = split_members(artifact, block_members, history, signals)
    challenges = [c for block in mapper.map(assemble_block, inputs, blocks) for c in block]
    return allocate_week(challenges, rules.budget)


def assemble_batch(
    artifact: CandidateArtifact,
    rules: RulesConfig,
    week: int,
    history: Mapping[Id, MemberHistory] | None = None,
    *,
    mapper: BlockMapper | None = None,
    block_members: int | None = None,
) -> list[Challenge]:
    """Every member's challenge for ``week``, with the weekly budget applied across members."""
    return assemble_week(artifact, rules, week, history, mapper=mapper, block_members=block_members)[0]
