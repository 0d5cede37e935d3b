"""End-to-end training on synthetic data, MLflow included, and the --as-of leakage guarantees."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd
import pytest

from engine.artifact import TABLES, CandidateArtifact, read_artifact
from engine.data.schema import Dataset
from engine.errors import DataValidationError
from engine.train.candidates import build_candidates, fit_candidates
from engine.train.config import TrainConfig
from engine.train.pipeline import CHAMPION_FILE, resolve_as_of, train

CUTOFF = 16


def test_train_writes_a_readable_artifact_and_registers_the_champion(
    synthetic_dataset: Dataset, fast_config: TrainConfig
) -> None:
    import mlflow
    from mlflow.tracking import MlflowClient

    result = train(synthetic_dataset, CUTOFF, fast_config)
    artifact = read_artifact(result.artifact_dir)
    assert artifact.manifest.model_version == result.model_version
    assert artifact.manifest.as_of_week == CUTOFF
    assert (fast_config.artifact_root / CHAMPION_FILE).read_text().strip() == result.model_version
    assert len(artifact.habitual) > 0
    assert len(artifact.stretch) > 0
    assert artifact.habitual["score"].between(0, 1).all()
    assert (artifact.habitual.groupby("member_id").size() <= fast_config.candidates.k_habitual).all()
    assert (artifact.habitual["last_week"] < CUTOFF).all()
    assert set(artifact.items["item_id"]) >= set(artifact.stretch["suggested_item_id"])
    assert not artifact.items.loc[
        artifact.items["item_id"].isin(artifact.habitual["item_id"]), "excluded"
    ].any()
    expected = (
        artifact.stretch["score"]
        * artifact.items.set_index("item_id").loc[artifact.stretch["suggested_item_id"], "price"].to_numpy()
        * artifact.items.set_index("item_id")
        .loc[artifact.stretch["suggested_item_id"], "margin_rate"]
        .to_numpy()
    )
    np.testing.assert_allclose(artifact.stretch["expected_margin"], expected, rtol=1e-6)

    client = MlflowClient(tracking_uri=fast_config.tracking.tracking_uri)
    run = client.get_run(result.run_id)
    assert run.data.tags["data_fingerprint"] == artifact.manifest.data_fingerprint
    assert "habitual_hist_gb_hit_at_2" in run.data.metrics
    assert "time_features_and_lightfm_seconds" in run.data.metrics
    version = client.get_model_version_by_alias(fast_config.tracking.registered_model_name, "champion")
    assert str(version.version) == result.registered_version
    assert version.tags["model_version"] == result.model_version
    mlflow.set_tracking_uri(fast_config.tracking.tracking_uri)
    model = mlflow.pyfunc.load_model(f"models:/{fast_config.tracking.registered_model_name}@champion")
    member = artifact.habitual["member_id"].iloc[0]
    picks = model.predict(pd.DataFrame({"member_id": [member]}))
    assert set(picks["member_id"]) == {member}


def _tables(artifact: CandidateArtifact) -> dict[str, pd.DataFrame]:
    return {name: artifact.table(name) for name in TABLES}


def _with_transactions(dataset: Dataset, tx: pd.DataFrame) -> Dataset:
    return replace(dataset, transactions=tx.reset_index(drop=True))


def test_data_at_or_after_the_cutoff_never_reaches_the_candidates(
    synthetic_dataset: Dataset, fast_config: TrainConfig
) -> None:
    config = fast_config.model_copy(
        update={"ranker": fast_config.ranker.model_copy(update={"kind": "logistic"})}
    )
    base = _tables(build_candidates(synthetic_dataset, CUTOFF, config))
    tx = synthetic_dataset.transactions
    later = tx[tx["week"] >= CUTOFF].copy()
    # rewrite the future: other members buy other items, and a brand-new member appears
    later["item_id"] = np.roll(later["item_id"].to_numpy(), 7)
    later.loc[later.index[:50], "member_id"] = 999_999
    changed_future = _with_transactions(synthetic_dataset, pd.concat([tx[tx["week"] < CUTOFF], later]))
    after = _tables(build_candidates(changed_future, CUTOFF, config))
    for name in TABLES:
        pd.testing.assert_frame_equal(after[name], base[name], obj=name)

    # while changing the past does change them
    past = tx[~((tx["week"] == CUTOFF - 1) & (tx["member_id"] % 3 == 0))]
    before = _tables(build_candidates(_with_transactions(synthetic_dataset, past), CUTOFF, config))
    assert not before["habitual"].equals(base["habitual"])


def test_stretch_never_suggests_a_category_bought_before_the_cutoff(
    synthetic_dataset: Dataset, fast_config: TrainConfig
) -> None:
    config = fast_config.model_copy(
        update={"ranker": fast_config.ranker.model_copy(update={"kind": "logistic"})}
    )
    artifact = build_candidates(synthetic_dataset, CUTOFF, config)
    tx = synthetic_dataset.transactions
    past = tx[tx["week"] < CUTOFF].merge(synthetic_dataset.catalog[["item_id", "category"]], on="item_id")
    bought = set(zip(past["member_id"], past["category"], strict=True))
    offered = set(zip(artifact.stretch["member_id"], artifact.stretch["category"], strict=True))
    assert offered
    assert not offered & bought
    assert (
        set(zip(artifact.member_categories["member_id"], artifact.member_categories["category"], strict=True))
        == bought
    )


def test_resolve_as_of_accepts_weeks_and_dates(synthetic_dataset: Dataset) -> None:
    start = date(2017, 1, 1)
    last = synthetic_dataset.n_weeks
    assert resolve_as_of(None, synthetic_dataset, start) == last + 1
    assert resolve_as_of("12", synthetic_dataset, start) == 12
    assert resolve_as_of("2017-01-08", synthetic_dataset, start) == 2  # first day of week 2
    assert resolve_as_of("2017-01-14", synthetic_dataset, start) == 2  # last day of week 2
    with pytest.raises(DataValidationError, match="week number or an ISO date"):
        resolve_as_of("next tuesday", synthetic_dataset, start)
    with pytest.raises(DataValidationError, match="covers weeks"):
        resolve_as_of(str(last + 5), synthetic_dataset, start)


def test_too_early_a_cutoff_is_refused_with_a_clear_message(
    synthetic_dataset: Dataset, fast_config: TrainConfig
) -> None:
    with pytest.raises(DataValidationError, match="earliest label week"):
        build_candidates(synthetic_dataset, 3, fast_config)


def test_stretch_ranks_by_expected_margin_when_the_exponent_is_one(
    synthetic_dataset: Dataset, fast_config: TrainConfig
) -> None:
    candidates = fast_config.candidates.model_copy(update={"stretch_margin_exponent": 1.0})
    ranker = fast_config.ranker.model_copy(update={"kind": "logistic"})
    config = fast_config.model_copy(update={"candidates": candidates, "ranker": ranker})
    stretch = build_candidates(synthetic_dataset, CUTOFF, config).stretch
    ordered = stretch.sort_values(["member_id", "rank"])
    steps = ordered.groupby("member_id")["expected_margin"].diff().dropna()
    assert (steps <= 1e-12).all()
    # a higher-value category beats a likelier but cheaper one somewhere
    assert (ordered.groupby("member_id")["score"].diff().dropna() > 0).any()


def test_stretch_floor_and_ranker_kind_reach_the_artifact(
    synthetic_dataset: Dataset, fast_config: TrainConfig
) -> None:
    ranker = fast_config.ranker.model_copy(update={"kind": "hist_gb", "stretch_kind": "logistic"})
    loose = fast_config.model_copy(update={"ranker": ranker})
    strict = loose.model_copy(
        update={"candidates": loose.candidates.model_copy(update={"stretch_min_relative_score": 1.0})}
    )
    built = fit_candidates(synthetic_dataset, CUTOFF, loose)
    assert (built.params["habitual_ranker"], built.params["stretch_ranker"]) == ("hist_gb", "logistic")
    all_lists = built.artifact.stretch
    only_best = fit_candidates(synthetic_dataset, CUTOFF, strict).artifact.stretch
    # with the floor at 1 every member keeps exactly their most likely category
    assert (only_best.groupby("member_id").size() == 1).all()
    assert (all_lists.groupby("member_id").size() > 1).any()
    best = all_lists.sort_values("score", ascending=False).drop_duplicates("member_id")
    best_category = best.set_index("member_id")["category"]
    assert (only_best.set_index("member_id")["category"] == best_category[only_best["member_id"]]).all()
