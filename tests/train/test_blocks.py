"""Stretch candidates built block by block, with a neighbour pool, equal those built all at once."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.data.schema import Dataset
from engine.data.tiers import load_tiers_config
from engine.train.candidates import fit_candidates
from engine.train.categories import category_stats
from engine.train.config import FeatureParams, TrainConfig
from engine.train.cutoffs import CutoffBuilder
from engine.train.history import CATEGORY_IDX, MEMBER_IDX, History
from engine.train.stretch import concat_blocks, stretch_block, stretch_inputs, stretch_pairs

CUTOFF = 16
ONE_BLOCK = 10**9


def _with(config: TrainConfig, *, member_block: int, pool: int, ranker_max_members: int) -> TrainConfig:
    features = config.features.model_copy(update={"member_block": member_block, "n_neighbour_pool": pool})
    ranker = config.ranker.model_copy(update={"ranker_max_members": ranker_max_members})
    return config.model_copy(update={"features": features, "ranker": ranker})


def test_stretch_features_do_not_depend_on_the_block(synthetic_dataset: Dataset) -> None:
    data = synthetic_dataset.before_week(CUTOFF)
    history = History.build(data.transactions, data.catalog)
    stats = category_stats(history, CUTOFF, FeatureParams())
    n_members = len(history.members)
    whole = stretch_pairs(history, CUTOFF, FeatureParams(member_block=ONE_BLOCK), stats)
    assert whole[MEMBER_IDX].nunique() > 7 * 3  # several blocks
    # one-member blocks: BLAS would multiply a single row with another kernel (other float32 sums)
    for block in (1, 7):
        features = FeatureParams(member_block=block, n_neighbour_pool=n_members)
        blocks = stretch_pairs(history, CUTOFF, features, stats)
        pd.testing.assert_frame_equal(blocks, whole, check_exact=True, obj=f"blocks of {block}")
    # a pool smaller than the members changes the neighbour feature, and only that one
    pooled = stretch_pairs(history, CUTOFF, FeatureParams(n_neighbour_pool=n_members // 4), stats)
    changed = [c for c in whole.columns if not np.array_equal(pooled[c], whole[c], equal_nan=True)]
    assert changed == ["neighbour_recent"]


def test_a_block_carries_only_its_members_rows_and_builds_the_same_pairs(synthetic_dataset: Dataset) -> None:
    data = synthetic_dataset.before_week(CUTOFF)
    history = History.build(data.transactions, data.catalog)
    features = FeatureParams()
    inputs = stretch_inputs(history, CUTOFF, features, category_stats(history, CUTOFF, features))
    shared = inputs.shared()
    assert len(shared.members) == 0
    assert len(shared.member_stats) == 0
    assert not any(len(v) for v in shared.categories.columns.values())
    for block in (inputs.members[:1], inputs.members[3:11], inputs.members[-5:]):
        parts = inputs.member_parts(block)
        # the rows of these members only, and the same rows
        assert len(parts.categories.columns[CATEGORY_IDX]) == len(inputs.categories.take(block)[0])
        built = stretch_block(shared.with_parts(parts), block)
        pd.testing.assert_frame_equal(built, stretch_block(inputs, block), check_exact=True)


@pytest.mark.parametrize("stretch_kind", ["hist_gb", "logistic"])
def test_candidates_in_tiny_blocks_equal_one_block(
    synthetic_dataset: Dataset, fast_config: TrainConfig, stretch_kind: str
) -> None:
    ranker = fast_config.ranker.model_copy(update={"kind": "auto", "stretch_kind": stretch_kind})
    config = fast_config.model_copy(update={"ranker": ranker})
    n_members = synthetic_dataset.transactions["member_id"].nunique()
    one = _with(config, member_block=ONE_BLOCK, pool=ONE_BLOCK, ranker_max_members=ONE_BLOCK)
    whole = fit_candidates(synthetic_dataset, CUTOFF, one)
    tiny = _with(config, member_block=7, pool=n_members, ranker_max_members=n_members)
    blocks = fit_candidates(synthetic_dataset, CUTOFF, tiny)
    assert blocks.params == whole.params
    assert blocks.metrics == whole.metrics  # the same training pairs, so the same validation
    # Features are equal to the bit, and so are tree scores. A logistic score is a BLAS dot product
    # whose last bit can depend on the number of rows scored at once (OpenBLAS treats rows in fours),
    # so it is compared to 1e-12; ids and ranks stay exact either way.
    # Habitual pairs are scored block by block too (engine/train/blocks.py), so the same holds for
    # them with the habitual ranker the validation week chose.
    exact = {"habitual": whole.params["habitual_ranker"] == "hist_gb"}
    for name in ("stretch", "habitual", "popular_categories", "members", "items"):
        pd.testing.assert_frame_equal(
            blocks.artifact.table(name),
            whole.artifact.table(name),
            check_exact=exact.get(name, stretch_kind == "hist_gb"),
            rtol=1e-12,
            obj=name,
        )


def test_label_weeks_keep_a_seeded_sample_of_members(
    synthetic_dataset: Dataset, fast_config: TrainConfig
) -> None:
    config = _with(fast_config, member_block=7, pool=ONE_BLOCK, ranker_max_members=50)
    data = synthetic_dataset.before_week(CUTOFF)
    history = History.build(data.transactions, data.catalog)
    builder = CutoffBuilder(data, history, config, load_tiers_config(config.tiers))
    frames = builder.frames([CUTOFF - 2, CUTOFF - 1])
    kept = {week: set(frame.stretch[MEMBER_IDX]) for week, frame in frames.items()}
    for week, frame in frames.items():
        assert len(kept[week]) == 50
        assert set(frame.habitual[MEMBER_IDX]) <= kept[week]
        assert set(frame.shoppers) <= kept[week]
        assert len(frame.shoppers) > 0
    assert kept[CUTOFF - 2] != kept[CUTOFF - 1]  # drawn afresh each week
    # the challenge week still gets every active member's stretch candidates
    now = builder.challenge(CUTOFF)
    pairs = concat_blocks(builder.stretch_blocks(now.stretch, now.stretch.members))
    assert set(pairs[MEMBER_IDX]) == set(now.stretch.members)
