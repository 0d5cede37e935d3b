"""Means over cutoffs, the member-clustered paired bootstrap, and the bars' verdicts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.backtest.analysis import (
    check_bars,
    cluster_bootstrap_ci,
    over_cutoffs,
    paired,
    paired_table,
    ranking_note,
)
from engine.backtest.config import Bars, StatsParams

PARAMS = StatsParams(bootstrap_resamples=500, confidence=0.9, seed=1)


def _outcomes(model: dict[int, float], base: dict[int, float], cutoff: int = 30) -> pd.DataFrame:
    rows = [
        {
            "cutoff": cutoff,
            "window": 1,
            "policy": policy,
            "member_id": m,
            "issued": True,
            "stretch_adoption": v,
        }
        for policy, values in (("model", model), ("popular", base))
        for m, v in values.items()
    ]
    return pd.DataFrame(rows)


def test_constant_difference_has_a_point_interval() -> None:
    low, high = cluster_bootstrap_ci(np.array([1, 2, 3]), np.array([0.5, 0.5, 0.5]), PARAMS)
    assert low == pytest.approx(0.5)
    assert high == pytest.approx(0.5)


def test_bootstrap_interval_contains_the_mean_and_clusters_members() -> None:
    rng = np.random.default_rng(0)
    members = np.repeat(np.arange(50), 4)
    diffs = rng.normal(0.2, 1.0, size=len(members))
    low, high = cluster_bootstrap_ci(members, diffs, PARAMS)
    assert low < diffs.mean() < high


def test_paired_uses_members_both_policies_served() -> None:
    # member 3 only in the model's offers, member 4's baseline offer not issued: both left out
    frame = _outcomes({1: 1.0, 2: 1.0, 3: 1.0, 4: 1.0}, {1: 0.0, 2: 1.0, 4: 0.0})
    frame.loc[(frame["policy"] == "popular") & (frame["member_id"] == 4), "issued"] = False
    p = paired(frame, "stretch_adoption", "popular", 1, PARAMS)
    assert p.n_pairs == 2
    assert p.model_mean == 1.0
    assert p.baseline_mean == 0.5
    assert p.diff == 0.5


def test_over_cutoffs_mean_and_sd() -> None:
    summaries = pd.DataFrame(
        {"cutoff": [30, 34], "window": [1, 1], "policy": ["model", "model"], "coverage": [0.5, 0.7]}
    )
    agg = over_cutoffs(summaries, ["coverage"])
    assert agg.loc[(1, "model"), ("coverage", "mean")] == pytest.approx(0.6)
    assert agg.loc[(1, "model"), ("coverage", "sd")] == pytest.approx(np.std([0.5, 0.7], ddof=1))


def _agg(values: dict[str, dict[str, float]]) -> pd.DataFrame:
    rows = [{"cutoff": 30, "window": 1, "policy": p, **m} for p, m in values.items()]
    return over_cutoffs(pd.DataFrame(rows), ["habitual_hit_rate", "stretch_adoption", "stretch_value"])


def test_bars_pass_and_fail_plainly() -> None:
    agg = _agg(
        {
            "model": {"habitual_hit_rate": 0.52, "stretch_adoption": 0.12, "stretch_value": 0.30},
            "topfreq": {"habitual_hit_rate": 0.50, "stretch_adoption": 0.0, "stretch_value": 0.0},
            "decayed": {"habitual_hit_rate": 0.51, "stretch_adoption": 0.0, "stretch_value": 0.0},
            "popular": {"habitual_hit_rate": 0.5, "stretch_adoption": 0.09, "stretch_value": 0.20},
            "cooc": {"habitual_hit_rate": 0.5, "stretch_adoption": 0.10, "stretch_value": 0.40},
        }
    )
    frame = _outcomes(dict.fromkeys(range(20), 1.0), dict.fromkeys(range(20), 0.0))
    pairs = paired_table(frame, ["popular"], [1], PARAMS, ["stretch_adoption"])
    verdict = {b.name: b.passed for b in check_bars(agg, pairs, Bars(), 1)}
    assert verdict["habitual_hit_rate vs topfreq"] is False  # 0.52 / 0.50 = 1.04 < 1.05
    assert verdict["habitual_hit_rate vs decayed"] is True
    assert verdict["stretch_adoption vs popular"] is True  # 1.33x and the paired CI is above zero
    assert verdict["stretch_value vs popular"] is True
    assert verdict["stretch_value vs cooc"] is False
    assert verdict["stretch_value vs random"] is None  # not run


def _top1(values: dict[str, list[float]]) -> pd.DataFrame:
    rows = [
        {"cutoff": 30 + i, "window": 1, "policy": p, "stretch_top1_adoption": v}
        for p, vs in values.items()
        for i, v in enumerate(vs)
    ]
    return over_cutoffs(pd.DataFrame(rows), ["stretch_top1_adoption"])


def test_ranking_note_gives_the_ratio_of_means_as_information() -> None:
    note = ranking_note(_top1({"model": [0.04, 0.08], "popular": [0.04, 0.04]}), 1)
    assert note.startswith("Informational, not a bar")
    assert "model 0.0600 vs popular 0.0400 (ratio 1.500)" in note


def test_ranking_note_says_what_was_not_measured() -> None:
    note = ranking_note(_top1({"model": [0.04]}), 1)
    assert "cannot be compared (popular not measured)" in note
    assert "ratio n/a, popular is 0" in ranking_note(_top1({"model": [0.04], "popular": [0.0]}), 1)
