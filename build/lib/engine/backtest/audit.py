"""Re-check every issued challenge against the hard guard and the exclusions, from outside the assembly.

The assembly already applies these rules; the audit asks again with the rules module's public checks
(:func:`~engine.rules.guards.check_hard_guard`, :func:`~engine.rules.eligibility.item_block`,
:func:`~engine.rules.eligibility.is_recent_durable`) on inputs it gathers itself: each pick's item from
the catalog the challenge was priced with (not the margins the challenge reports), and what the member
bought before the cutoff from the raw transactions (not the artifact's own tables). Any finding is a
violation; the backtest's bar wants none.

Rules re-checked (the ``rule`` of a :class:`Violation`)
    incomplete             issued without two habitual picks, a stretch pick or a reward
    unknown_item           a pick's item is not in the catalog
    excluded, min_margin_rate
                           a pick's item may never carry an offer (:func:`item_block`)
    durable_recency        a habitual durable bought within the recency window
    habitual_not_distinct  the two habitual picks are the same product
    stretch_excluded       the stretch category is on the excluded list
    stretch_product        the suggested product is not in the stretch category
    stretch_not_new        the stretch category is a habitual pick's category
    stretch_already_bought the member bought in the stretch category before the cutoff
    hard_guard             the reward exceeds the allowed share of the three picks' margin
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from engine.candidates import Catalog, Id, ItemInfo
from engine.challenge import Challenge
from engine.data.schema import CATEGORY, ITEM_ID, MEMBER_ID, WEEK
from engine.rules.config import RulesConfig
from engine.rules.eligibility import EligibilityIndex, eligibility_index, is_recent_durable, item_block
from engine.rules.guards import check_hard_guard


@dataclass(frozen=True)
class Violation:
    """One issued challenge that fails one re-checked rule."""

    member_id: Id
    week: int
    rule: str
    detail: str


@dataclass(frozen=True)
class PurchaseHistory:
    """What members bought before the cutoff, from the raw transactions."""

    categories: frozenset[tuple[Id, str]]
    last_week: dict[tuple[Id, Id], int]

    @classmethod
    def before(
        cls, transactions: pd.DataFrame, catalog: pd.DataFrame, cutoff: int, items: Sequence[Id] = ()
    ) -> PurchaseHistory:
        """Summarise ``transactions`` of weeks before ``cutoff`` (later rows are ignored).

        ``last_week`` is kept for the ``items`` given only (the picks to audit): every pair of a year
        of data would be a large dict for no use.
        """
        tx = transactions[transactions[WEEK] < cutoff]
        lines = tx.join(catalog.set_index(ITEM_ID)[[CATEGORY]], on=ITEM_ID)
        bought = lines.loc[lines[CATEGORY].notna(), [MEMBER_ID, CATEGORY]].drop_duplicates()
        picked = tx[tx[ITEM_ID].isin(pd.Index(list(items), dtype=object))]
        last = picked.groupby([MEMBER_ID, ITEM_ID], sort=False)[WEEK].max()
        pairs = zip(bought[MEMBER_ID].tolist(), bought[CATEGORY].astype(str).tolist(), strict=True)
        return cls(categories=frozenset(pairs), last_week={key: int(week) for key, week in last.items()})


def _item_findings(
    role: str, item_id: Id, catalog: Catalog, index: EligibilityIndex
) -> tuple[ItemInfo | None, list[tuple[str, str]]]:
    item = catalog.get(item_id)
    if item is None:
        return None, [("unknown_item", f"{role} item {item_id!r} is not in the catalog")]
    block = item_block(item, index)
    return item, ([] if block is None else [(block[0], f"{role}: {block[1]}")])


def audit_challenge(
    challenge: Challenge, catalog: Catalog, rules: RulesConfig, history: PurchaseHistory
) -> list[Violation]:
    """Every re-checked rule an issued ``challenge`` fails (none for a ``no_offer``)."""
    if challenge.status != "issued":
        return []
    member, week = challenge.member_id, challenge.week
    found: list[tuple[str, str]] = []
    if len(challenge.habitual) != 2 or challenge.stretch is None or challenge.reward is None:
        found.append(("incomplete", "issued without two habitual picks, a stretch pick and a reward"))
        return [Violation(member, week, rule, detail) for rule, detail in found]
    index = eligibility_index(rules.eligibility)
    items: list[ItemInfo] = []
    for k, pick in enumerate(challenge.habitual):
        item, findings = _item_findings(f"habitual {k + 1}", pick.item_id, catalog, index)
        found += findings
        if item is not None:
            items.append(item)
            if is_recent_durable(item, history.last_week.get((member, item.item_id)), week, index):
                found.append(("durable_recency", f"durable item {item.item_id!r} bought recently"))
    if challenge.habitual[0].item_id == challenge.habitual[1].item_id:
        same = challenge.habitual[0].item_id
        found.append(("habitual_not_distinct", f"both habitual picks are item {same!r}"))
    stretch = challenge.stretch
    category = stretch.category
    habitual_categories = {i.category for i in items}
    item, findings = _item_findings("stretch", stretch.item_id, catalog, index)
    found += findings
    if item is not None:
        items.append(item)
        if item.category != category:
            where = f"item {item.item_id!r} is in {item.category!r}, not {category!r}"
            found.append(("stretch_product", where))
    if category in index.excluded_categories:
        found.append(("stretch_excluded", f"category {category!r} is excluded"))
    if category in habitual_categories:
        found.append(("stretch_not_new", f"category {category!r} is a habitual pick's category"))
    if (member, category) in history.categories:
        found.append(("stretch_already_bought", f"member bought in {category!r} before week {week}"))
    if len(items) == 3:
        hard = check_hard_guard([i.unit_margin for i in items], challenge.reward.cash_cost, rules.hard_guard)
        if not hard.passed:
            found.append((hard.rule, hard.detail))
    return [Violation(member, week, rule, detail) for rule, detail in found]


def audit_batch(
    challenges: Sequence[Challenge], catalog: Catalog, rules: RulesConfig, history: PurchaseHistory
) -> pd.DataFrame:
    """:func:`audit_challenge` over a batch.

    Returns
    -------
    pandas.DataFrame
        ``member_id``, ``week``, ``rule``, ``detail``: one row per violation (empty when none).
    """
    rows = [v for c in challenges for v in audit_challenge(c, catalog, rules, history)]
    return pd.DataFrame(
        [(v.member_id, v.week, v.rule, v.detail) for v in rows], columns=[MEMBER_ID, WEEK, "rule", "detail"]
    )
