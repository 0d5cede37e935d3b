"""Feature building on hand-made data where every count is known."""

from __future__ import annotations

import numpy as np
import pytest

from engine.data.schema import Dataset
from engine.errors import DataValidationError
from engine.train.categories import category_stats
from engine.train.config import CandidateParams, FeatureParams
from engine.train.features import IdMap, interactions
from engine.train.history import CATEGORY_IDX, ITEM_IDX, MEMBER_IDX, History
from engine.train.pairs import habitual_pairs
from engine.train.stretch import stretch_pairs


def test_idmap_keeps_ids_apart_from_indices() -> None:
    ids = IdMap.from_values([30, 10, 20, 10])
    assert list(ids.ids) == [10, 20, 30]
    assert list(ids.to_idx([20, 30])) == [1, 2]
    assert list(ids.to_id([2, 0])) == [30, 10]
    assert list(ids.to_idx([99, 10], strict=False)) == [-1, 0]
    with pytest.raises(DataValidationError, match="1 id"):
        ids.to_idx([99])


def test_idmap_with_string_ids() -> None:
    ids = IdMap.from_values(["b", "a"])
    assert list(ids.to_id(ids.to_idx(["a", "b"]))) == ["a", "b"]


def test_interactions_sum_duplicates_and_log_weights() -> None:
    binary, weights = interactions(np.array([0, 0, 1]), np.array([2, 2, 0]), np.array([1, 2, 1]), (2, 3))
    assert binary.toarray().tolist() == [[0, 0, 1], [1, 0, 0]]
    assert weights.toarray()[0, 2] == pytest.approx(np.log1p(3))


def test_habitual_pairs_have_known_counts(tiny_dataset: Dataset) -> None:
    data = tiny_dataset.before_week(5)
    history = History.build(data.transactions, data.catalog)
    pairs = habitual_pairs(history, 5, FeatureParams(decay_half_life_weeks=1.0), CandidateParams())
    m1 = history.members.to_idx([1])[0]
    milk = history.items.to_idx([1])[0]
    row = pairs[(pairs[MEMBER_IDX] == m1) & (pairs[ITEM_IDX] == milk)].iloc[0]
    assert row["n_baskets"] == 4  # weeks 1, 2 and two baskets in week 4
    assert row["n_weeks"] == 3
    assert row["last_week"] == 4
    assert row["weeks_since_last"] == 1
    # half-life 1 week, measured back from week 4: 2 baskets * 1 + 1 * 0.25 + 1 * 0.125
    assert row["decayed_freq"] == pytest.approx(2.375)
    assert row["share_active_weeks"] == pytest.approx(3 / 4)
    # bread once (< 2 baskets) and tobacco (excluded) are no habitual candidates of member 1
    assert set(history.items.to_id(pairs.loc[pairs[MEMBER_IDX] == m1, ITEM_IDX])) == {1}


def test_stretch_pairs_only_hold_never_bought_categories(tiny_dataset: Dataset) -> None:
    data = tiny_dataset.before_week(5)
    history = History.build(data.transactions, data.catalog)
    stats = category_stats(history, 5, FeatureParams())
    pairs = stretch_pairs(history, 5, FeatureParams(), stats)
    bought = set(history.member_categories(5)[[MEMBER_IDX, CATEGORY_IDX]].itertuples(index=False))
    assert not bought & set(pairs[[MEMBER_IDX, CATEGORY_IDX]].itertuples(index=False))
    m2 = history.members.to_idx([2])[0]
    cats = set(history.categories.to_id(pairs.loc[pairs[MEMBER_IDX] == m2, CATEGORY_IDX]))
    # member 2 bought CHEESE and BREAD; TOBACCO has no item that may carry an offer
    assert cats == {"MILK", "CAKE"}


def test_category_adoption_among_non_buyers(tiny_dataset: Dataset) -> None:
    data = tiny_dataset.before_week(6)
    history = History.build(data.transactions, data.catalog)
    stats = category_stats(history, 6, FeatureParams(popularity_weeks=8))
    milk = history.categories.to_idx(["MILK"])[0]
    # weeks 2..5: member 2 is the only non-buyer of MILK active before (member 3 starts in week 2 with
    # milk, so is not "active before" then); member 2 adopts in week 5: 1 adoption / 4 non-buyer weeks.
    assert stats.adoption_rate[milk] == pytest.approx(1 / 4)
    # the suggested MILK item is the one with most distinct buyers (item 1: members 1 and 2 before week 6)
    assert history.items.to_id([stats.suggested_item_idx[milk]])[0] == 1


def test_neighbour_scores_weight_similar_members_recent_categories() -> None:
    from engine.train.affinity import NeighbourPool, neighbour_scores

    # members 0 and 1 buy the same categories, member 2 others; member 1 bought category 3 recently
    bought = np.array([[1, 1, 0, 0], [1, 1, 0, 1], [0, 0, 1, 1]], dtype=bool)
    recent = np.array([[0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]], dtype=bool)
    members = np.arange(3)
    pool = NeighbourPool.of(members, bought, recent)
    scores = neighbour_scores(pool, members, bought, n_neighbours=1)
    assert scores.shape == (3, 4)
    assert scores[0, 3] == pytest.approx(1.0)  # its one neighbour (member 1) bought category 3 recently
    assert scores[0, 2] == 0.0
    assert scores[2, 3] == pytest.approx(1.0)  # member 2's nearest neighbour is member 1
    full = neighbour_scores(pool, members, bought, n_neighbours=2, batch_size=1)
    assert ((full >= 0) & (full <= 1)).all()


def test_neighbours_come_from_the_pool_and_never_the_member_itself() -> None:
    from engine.train.affinity import NeighbourPool, neighbour_scores, pool_members

    # 12 members all buy the shared category 0 (so every pair is similar) and their own category
    # 1 + m; recently each bought only its own category, so score[m, 1 + j] > 0 exactly when j is
    # one of m's neighbours.
    n = 12
    bought = np.zeros((n, n + 1), dtype=bool)
    bought[:, 0] = True
    bought[np.arange(n), 1 + np.arange(n)] = True
    recent = np.zeros_like(bought)
    recent[np.arange(n), 1 + np.arange(n)] = True
    everyone = np.arange(n)
    in_pool = pool_members(n, everyone, size=5, seed=[7, 1])
    assert len(in_pool) == 5
    assert np.array_equal(in_pool, np.sort(in_pool))
    pool = NeighbourPool.of(in_pool, bought[in_pool], recent[in_pool])
    scores = neighbour_scores(pool, everyone, bought, n_neighbours=3, batch_size=4)
    neighbour_of = scores[:, 1:] > 0
    assert not neighbour_of[:, np.setdiff1d(everyone, in_pool)].any()  # only pool members
    assert not neighbour_of[everyone, everyone].any()  # never oneself
    assert (neighbour_of.sum(axis=1) == 3).all()
    # a pool as large as the members is everyone: the same scores as before pools existed
    assert np.array_equal(pool_members(n, everyone, size=n, seed=0), everyone)
    assert np.array_equal(pool_members(n, everyone[2:], size=50, seed=0), everyone)


def test_category_trend_uses_the_recent_weeks_only(tiny_dataset: Dataset) -> None:
    data = tiny_dataset.before_week(6)
    history = History.build(data.transactions, data.catalog)
    features = FeatureParams(popularity_weeks=8, trend_weeks=2, penetration_smoothing=1e-12)
    stats = category_stats(history, 6, features)
    milk = history.categories.to_idx(["MILK"])[0]
    # weeks 4 and 5: member 2 is the only non-buyer of MILK both weeks and adopts in week 5
    assert stats.adoption_recent[milk] == pytest.approx(1 / 2)
    # MILK in 3 of the 4 shopper-weeks of weeks 4-5, against 6 of the 11 shopper-weeks of weeks 1-5
    assert stats.penetration_trend[milk] == pytest.approx((3 / 4) / (6 / 11))
    cake = history.categories.to_idx(["CAKE"])[0]
    # CAKE: member 3 in weeks 2 and 5 -> 1 of 4 recent shopper-weeks against 2 of 11
    assert stats.penetration_trend[cake] == pytest.approx((1 / 4) / (2 / 11))
    pairs = stretch_pairs(history, 6, features, stats)
    row = pairs[pairs[CATEGORY_IDX] == cake].iloc[0]
    assert row["adoption_recent"] == stats.adoption_recent[cake]
    expected = stats.adoption_rate[cake] * stats.penetration_trend[cake]
    assert row["adjusted_adoption"] == pytest.approx(expected)


def test_likely_stretch_keeps_categories_near_the_members_best() -> None:
    import pandas as pd

    from engine.train.tables import likely_stretch

    pairs = pd.DataFrame(
        {MEMBER_IDX: [0, 0, 0, 1, 1], CATEGORY_IDX: [1, 2, 3, 1, 2], "score": [0.1, 0.08, 0.05, 0.02, 0.019]}
    )
    kept = likely_stretch(pairs, 0.7)
    assert kept[CATEGORY_IDX].tolist() == [1, 2, 1, 2]  # 0.05 < 0.7 x 0.1; 0.019 >= 0.7 x 0.02
    assert likely_stretch(pairs, 1.0)[CATEGORY_IDX].tolist() == [1, 1]
    assert len(likely_stretch(pairs, 0.0)) == len(pairs)


def test_stretch_spend_exponent_ranks_categories_worth_more_first() -> None:
    import pandas as pd

    from engine.train.tables import top_stretch

    scored = pd.DataFrame(
        {
            MEMBER_IDX: [0, 0],
            CATEGORY_IDX: [1, 2],
            "suggested_item_idx": [10, 20],
            "score": [0.10, 0.08],
            "unit_margin": [1.0, 1.0],
            "adopter_spend": [1.0, 10.0],
        }
    )
    by_score = top_stretch(scored, CandidateParams(stretch_margin_exponent=0.0))
    assert by_score[CATEGORY_IDX].tolist() == [1, 2]
    # 0.08 x 10 ** 0.25 = 0.142 > 0.10 x 1
    by_value = top_stretch(scored, CandidateParams(stretch_margin_exponent=0.0, stretch_spend_exponent=0.25))
    assert by_value[CATEGORY_IDX].tolist() == [2, 1]
    assert by_value["rank"].tolist() == [1, 2]
