"""Challenge-producing policies for the replay simulator: ``policy(history, week, member_ids) -> offers``.

A policy sees only the data before ``week`` and returns, per member, a
:class:`~engine.experiments.events.ChallengeSnapshot` (picks in order habitual, habitual, stretch) or
None for no offer.

- :func:`habit_policy`: the baseline, each member's most-bought items, padded with popular ones.
- :func:`habit_stretch_policy`: a light stand-in for the recommender (two most-bought items plus the
  most popular item of a category the member never bought); fast enough for unit tests.
- :func:`recommender_policy`: the real thing, training candidates (``engine.train``) and assembling
  challenges through the rules (``engine.challenge``) for each simulated week.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import pandas as pd

from engine.data.schema import BASKET_ID, CATEGORY, EXCLUDED, ITEM_ID, MEMBER_ID, Dataset
from engine.experiments.events import PICKS_PER_CHALLENGE, ChallengeSnapshot

if TYPE_CHECKING:
    from engine.rules.config import RulesConfig
    from engine.train.config import TrainConfig

Offers = Mapping[str, ChallengeSnapshot | None]
Policy = Callable[[Dataset, int, Sequence[str]], Offers]


def _offerable(history: Dataset) -> pd.DataFrame:
    allowed = history.catalog.loc[~history.catalog[EXCLUDED].astype(bool), [ITEM_ID, CATEGORY]]
    tx = history.transactions[[MEMBER_ID, ITEM_ID, BASKET_ID]].merge(allowed, on=ITEM_ID)
    return tx.assign(member_key=tx[MEMBER_ID].astype(str), item_key=tx[ITEM_ID].astype(str))


def _top_items(tx: pd.DataFrame, per_member: int) -> dict[str, list[str]]:
    counts = tx.groupby(["member_key", "item_key"])[BASKET_ID].nunique().rename("n").reset_index()
    counts = counts.sort_values(["member_key", "n", "item_key"], ascending=[True, False, True])
    top = counts.groupby("member_key").head(per_member)
    return {str(m): list(g["item_key"]) for m, g in top.groupby("member_key")}


def _popular(tx: pd.DataFrame) -> list[str]:
    return list(
        tx.groupby("item_key")["member_key"].nunique().sort_values(ascending=False, kind="stable").index
    )


def habit_policy(picks: int, reward_cost: float) -> Policy:
    """Baseline: the member's ``picks`` most-bought offerable items, padded with the most popular items."""

    def policy(history: Dataset, week: int, member_ids: Sequence[str]) -> Offers:
        tx = _offerable(history)
        # Padding never needs more than a challenge's worth of popular items beyond the member's own.
        top, popular = _top_items(tx, picks), _popular(tx)[: 2 * PICKS_PER_CHALLENGE]
        out: dict[str, ChallengeSnapshot | None] = {}
        for m in member_ids:
            items = list(top.get(m, []))[:PICKS_PER_CHALLENGE]
            items += [p for p in popular if p not in items][: PICKS_PER_CHALLENGE - len(items)]
            ok = len(items) == PICKS_PER_CHALLENGE
            out[m] = ChallengeSnapshot(item_ids=tuple(items), reward_cost=reward_cost) if ok else None
        return out

    return policy


def habit_stretch_policy(reward_cost: float) -> Policy:
    """Two most-bought items plus the most popular category never bought (its most popular item the hint)."""
    habitual = PICKS_PER_CHALLENGE - 1

    def policy(history: Dataset, week: int, member_ids: Sequence[str]) -> Offers:
        tx = _offerable(history)
        top = _top_items(tx, habitual)
        cat_rank = list(
            tx.groupby(CATEGORY)["member_key"].nunique().sort_values(ascending=False, kind="stable").index
        )
        best_item = (
            tx.groupby([CATEGORY, "item_key"])["member_key"]
            .nunique()
            .rename("n")
            .reset_index()
            .sort_values(["n", "item_key"], ascending=[False, True])
            .drop_duplicates(CATEGORY)
            .set_index(CATEGORY)["item_key"]
        )
        bought_cats = tx.groupby("member_key")[CATEGORY].agg(set).to_dict()
        out: dict[str, ChallengeSnapshot | None] = {}
        for m in member_ids:
            items = top.get(m, [])
            seen = bought_cats.get(m, set())
            stretch = next(
                ((c, best_item[c]) for c in cat_rank if c not in seen and best_item[c] not in items), None
            )
            if len(items) == habitual and stretch is not None:
                # The stretch pick is the category; its most popular product is the hint.
                category, hint = stretch
                out[m] = ChallengeSnapshot(
                    item_ids=(*items, str(hint)), reward_cost=reward_cost, stretch_category=str(category)
                )
            else:
                out[m] = None
        return out

    return policy


def recommender_policy(rules: RulesConfig, train: TrainConfig) -> Policy:
    """The production path: candidates trained before ``week``, challenges assembled through the rules."""
    from engine.challenge import assemble_batch
    from engine.experiments.shown import to_snapshot
    from engine.train.candidates import build_candidates

    def policy(history: Dataset, week: int, member_ids: Sequence[str]) -> Offers:
        artifact = build_candidates(history, week, train)
        wanted = set(member_ids)
        out: dict[str, ChallengeSnapshot | None] = dict.fromkeys(member_ids)
        for challenge in assemble_batch(artifact, rules, week):
            key = str(challenge.member_id)
            if key in wanted:
                out[key] = to_snapshot(challenge)
        return out

    return policy
