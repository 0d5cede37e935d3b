"""Nothing from the challenge window (week >= cutoff) can reach training or any policy's candidates."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from engine.artifact import CandidateArtifact, Manifest
from engine.backtest.config import POLICIES
from engine.backtest.raw import raw_challenges
from engine.backtest.runner import policy_artifacts, training_slice
from engine.data.schema import WEEK, Dataset
from engine.data.tiers import load_tiers_config
from engine.errors import DataValidationError
from engine.train.config import TrainConfig

CUTOFF = 14


def _perturbed(dataset: Dataset) -> Dataset:
    """Window rows scrambled: other members, other items, ten times the spend, plus extra rows."""
    tx = dataset.transactions.copy()
    late = tx[WEEK] >= CUTOFF
    rng = np.random.default_rng(5)
    tx.loc[late, "member_id"] = rng.permutation(tx.loc[late, "member_id"].to_numpy())
    tx.loc[late, "item_id"] = rng.permutation(tx.loc[late, "item_id"].to_numpy())
    tx.loc[late, "sales_value"] = tx.loc[late, "sales_value"] * 10
    extra = tx[late].head(500).assign(basket_id=tx["basket_id"].max() + 1)
    return replace(dataset, transactions=pd.concat([tx, extra], ignore_index=True))


def _empty_model(train: Dataset) -> CandidateArtifact:
    """A stand-in for the model's artifact: only its shared tables matter to the baselines."""
    manifest = Manifest("stand-in", CUTOFF, CUTOFF, "2017-01-01T00:00:00Z", "none")
    members = train.members.assign(last_week=0)
    empty_h = pd.DataFrame(columns=["member_id", "item_id", "score", "n_baskets", "last_week", "rank"])
    empty_s = pd.DataFrame(
        columns=["member_id", "category", "score", "suggested_item_id", "expected_margin", "rank"]
    )
    return CandidateArtifact(
        manifest,
        empty_h,
        empty_s,
        train.catalog.iloc[:0],
        members,
        pd.DataFrame(columns=["member_id", "category"]),
        pd.DataFrame(columns=["item_id", "score", "rank"]),
        pd.DataFrame(columns=["category", "score", "suggested_item_id", "rank"]),
    )


def _artifacts(dataset: Dataset) -> tuple[Dataset, dict[str, CandidateArtifact]]:
    train = training_slice(dataset, CUTOFF, load_tiers_config())
    arts = policy_artifacts(train, CUTOFF, _empty_model(train), list(POLICIES), TrainConfig(), random_seed=3)
    return train, arts


def test_window_rows_cannot_change_training_or_candidates(synthetic_dataset: Dataset) -> None:
    perturbed = _perturbed(synthetic_dataset)
    assert not perturbed.transactions.equals(synthetic_dataset.transactions)
    train_a, arts_a = _artifacts(synthetic_dataset)
    train_b, arts_b = _artifacts(perturbed)
    assert int(train_a.transactions[WEEK].max()) < CUTOFF
    pd.testing.assert_frame_equal(train_a.transactions, train_b.transactions)
    pd.testing.assert_frame_equal(train_a.members, train_b.members)  # tiers from spend before the cutoff
    for policy in POLICIES:
        for table in ("habitual", "stretch", "items"):
            pd.testing.assert_frame_equal(arts_a[policy].table(table), arts_b[policy].table(table))
    # the baselines did produce candidates, so the comparison above is not vacuous
    assert len(arts_a["topfreq"].habitual) > 0
    assert len(arts_a["popular"].stretch) > 0


def test_raw_baselines_see_only_weeks_before_the_cutoff(synthetic_dataset: Dataset) -> None:
    # the runner builds the raw baselines from the training slice; scrambling the window changes nothing
    perturbed = _perturbed(synthetic_dataset)
    tiers = load_tiers_config()
    raws = [
        raw_challenges(training_slice(data, CUTOFF, tiers).transactions, data.catalog, CUTOFF, 8)
        for data in (synthetic_dataset, perturbed)
    ]
    pd.testing.assert_frame_equal(raws[0], raws[1])
    assert raws[0]["stretch_category"].notna().any()
    # and handed the window itself, they refuse it rather than read it
    with pytest.raises(DataValidationError, match=f"as_of_week {CUTOFF}"):
        raw_challenges(synthetic_dataset.transactions, synthetic_dataset.catalog, CUTOFF, 8)
