"""The LightFM wrapper and the ranker: guards against misuse, shapes, determinism."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from engine.errors import NotFittedError
from engine.train.config import LightFMParams, RankerParams
from engine.train.history import MEMBER_IDX
from engine.train.model import LightFMModel
from engine.train.pairs import LABEL
from engine.train.ranker import Ranker, top_k_hit_rate

PARAMS = LightFMParams(no_components=4, epochs=5, num_threads=1, random_state=11)


def _interactions() -> sp.coo_matrix:
    rng = np.random.default_rng(0)
    dense = (rng.random((30, 12)) < 0.3).astype(np.float32)
    return sp.coo_matrix(dense)


def test_scoring_before_fit_raises() -> None:
    model = LightFMModel(PARAMS)
    assert not model.is_fitted
    with pytest.raises(NotFittedError):
        model.score_matrix(np.arange(3))
    with pytest.raises(NotFittedError):
        model.score_pairs(np.arange(3), np.arange(3))


def test_scores_have_the_right_shape_and_are_deterministic() -> None:
    a = LightFMModel(PARAMS).fit(_interactions())
    b = LightFMModel(PARAMS).fit(_interactions())
    members = np.array([0, 5, 29])
    scores = a.score_matrix(members)
    assert scores.shape == (3, 12)
    np.testing.assert_array_equal(scores, b.score_matrix(members))
    pairs = a.score_pairs(np.array([5, 29]), np.array([3, 7]))
    np.testing.assert_allclose(pairs, [scores[1, 3], scores[2, 7]], rtol=1e-5)


def test_a_scoring_copy_scores_the_same_and_is_smaller() -> None:
    with pytest.raises(NotFittedError):
        LightFMModel(PARAMS).for_scoring()
    model = LightFMModel(PARAMS).fit(_interactions())
    copy = model.for_scoring()
    members, items = np.array([0, 5, 29, 5]), np.array([3, 7, 0, 11])
    np.testing.assert_array_equal(copy.score_pairs(members, items), model.score_pairs(members, items))
    np.testing.assert_array_equal(copy.score_matrix(members), model.score_matrix(members))
    assert len(pickle.dumps(copy)) < len(pickle.dumps(model)) / 2


def test_top_k_agrees_with_a_full_sort_across_batches() -> None:
    model = LightFMModel(PARAMS, batch_size=7).fit(_interactions())
    members = np.arange(30)
    rows = [np.concatenate(parts) for parts in zip(*model.iter_top_k(members, 4), strict=True)]
    member_idx, item_idx, score = rows
    assert len(member_idx) == 30 * 4
    full = model.score_matrix(members)
    expected = np.argsort(-full, axis=1, kind="stable")[:, :4]
    np.testing.assert_array_equal(item_idx.reshape(30, 4), expected)
    assert (np.diff(score.reshape(30, 4), axis=1) <= 0).all()


def test_ranker_guards_and_learns_a_simple_signal() -> None:
    rng = np.random.default_rng(1)
    x = rng.random(2000)
    pairs = pd.DataFrame(
        {MEMBER_IDX: np.arange(2000) // 10, "f": x, LABEL: (rng.random(2000) < x).astype(int)}
    )
    for kind in ("logistic", "hist_gb"):
        ranker = Ranker(kind, ["f"], RankerParams(hist_gb={"max_iter": 20}), negative_rate=0.5)
        with pytest.raises(NotFittedError):
            ranker.predict_proba(pairs)
        proba = ranker.fit(pairs).predict_proba(pairs)
        assert ((proba >= 0) & (proba <= 1)).all()
        assert np.corrcoef(proba, x)[0, 1] > 0.9
        # negatives are down-sampled and re-weighted: the mean probability stays near the label rate
        assert proba.mean() == pytest.approx(pairs[LABEL].mean(), abs=0.05)


def test_top_k_hit_rate_on_known_picks() -> None:
    pairs = pd.DataFrame({MEMBER_IDX: [0, 0, 0, 1, 1], LABEL: [1, 0, 1, 0, 0]})
    score = np.array([0.9, 0.8, 0.1, 0.5, 0.4])
    # member 0: top-2 = rows 0, 1 -> 1 hit of 2; member 1: 0 of 2; member 2 has no candidate -> 0
    assert top_k_hit_rate(pairs, score, 2, np.array([0, 1])) == pytest.approx(0.25)
    assert top_k_hit_rate(pairs, score, 2, np.array([0, 1, 2])) == pytest.approx(1 / 6)
