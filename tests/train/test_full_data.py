"""One end-to-end check on the full Complete Journey data (minutes; ``pytest -m slow``)."""

from __future__ import annotations

import pytest

from engine.data.schema import Dataset
from engine.train.candidates import fit_candidates
from engine.train.config import load_train_config


@pytest.mark.slow
def test_candidates_on_complete_journey_beat_personal_frequency(cj_dataset: Dataset) -> None:
    shipped = load_train_config().model_copy(update={"progress": False})
    # "auto" fits both ranker kinds on a validation week: its metrics judge the shipped kind too
    ranker = shipped.ranker.model_copy(update={"kind": "auto", "stretch_kind": None})
    config = shipped.model_copy(update={"ranker": ranker})
    build = fit_candidates(cj_dataset, 30, config)
    art = build.artifact
    active = art.members["member_id"]
    assert art.habitual["member_id"].nunique() > 0.9 * len(active)
    assert art.stretch["member_id"].nunique() > 0.95 * len(active)
    assert art.habitual["score"].between(0, 1).all()
    assert art.stretch["score"].between(0, 1).all()
    bought = art.member_categories.assign(b=True).set_index(["member_id", "category"])["b"]
    assert not art.stretch.set_index(["member_id", "category"]).index.isin(bought.index).any()
    # validation week 29 (tuning weeks, not backtest weeks): the chosen and the shipped rankers beat
    # top-frequency
    m = build.metrics
    for kind in {build.params["habitual_ranker"], shipped.ranker.habitual_kind}:
        assert m[f"habitual_{kind}_hit_at_2"] > m["habitual_baseline_top_frequency_hit_at_2"]
