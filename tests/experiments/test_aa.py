"""A/A simulation, daily looks: naive peeking inflates false positives, the confidence sequence does not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from engine.cli import app
from engine.data.schema import Dataset
from engine.data.synthetic import generate_synthetic
from engine.experiments.aa import outcome_matrix, simulate_aa
from engine.experiments.stats import welch_diff

ALPHA = 0.05


@pytest.fixture(scope="module")
def data() -> Dataset:
    return generate_synthetic(n_members=800, n_items=200, n_weeks=8, seed=3)


def test_outcome_matrix_holds_each_members_real_cumulative_spend(data: Dataset) -> None:
    matrix = outcome_matrix(data, weeks=2)
    assert matrix.looks == 14
    tx = data.transactions
    window = tx[tx["week"] >= data.n_weeks - 1]
    spend = window.groupby("member_id")["sales_value"].sum()
    # The last look's cumulative spend is each member's spend over the whole window.
    got = dict(zip(matrix.member_ids.tolist(), matrix.cumulative[:, -1].tolist(), strict=True))
    assert got == pytest.approx(spend.to_dict())
    # A member enters on their first purchase day: nothing before it, something on it.
    first = matrix.entry_look
    rows = np.arange(len(first))
    assert np.all(matrix.cumulative[rows, first] > 0)
    before = np.where(first > 0, matrix.cumulative[rows, np.maximum(first - 1, 0)], 0.0)
    assert np.all(before == 0)


def test_a_run_equals_the_welch_test_on_its_split(data: Dataset) -> None:
    matrix = outcome_matrix(data, weeks=2)
    last = matrix.cumulative[:, -1]
    decided = []
    for seed in range(40):
        # One run, re-derived by hand: the same seed gives the same split.
        assign = np.random.default_rng(seed).random((1, len(matrix.member_ids)))[0] < 0.5
        est = welch_diff(last[assign], last[~assign], ALPHA)
        if 0.045 < est.p_value < 0.055:
            continue  # the normal and t quantiles may disagree this close to alpha
        result = simulate_aa(matrix, runs=1, alpha=ALPHA, seed=seed)
        assert result.final_look_only == float(est.p_value < ALPHA), seed
        decided.append(est.p_value < ALPHA)
    assert len(decided) > 30
    assert any(decided)  # some splits of real members do differ by chance


def test_naive_daily_peeking_inflates_false_positives_and_the_sequence_does_not(data: Dataset) -> None:
    result = simulate_aa(outcome_matrix(data, weeks=2), runs=1500, alpha=ALPHA, seed=11)
    se = result.monte_carlo_se(ALPHA)
    assert abs(result.final_look_only - ALPHA) < 3 * se  # one look: the nominal rate
    assert result.naive > ALPHA + 4 * se  # daily peeks: inflated
    assert result.sequential <= ALPHA + 2 * se  # confidence sequence: held
    assert abs(result.group - ALPHA) < 3 * se  # group-sequential over the planned looks: spent exactly
    assert np.all(np.diff(result.naive_by_look) >= 0)
    assert result.naive_by_look[0] <= result.naive


def test_cli_writes_the_report_and_plot(tmp_path: Path) -> None:
    out = tmp_path / "aa"
    args = ["experiment", "aa", "--synthetic", "300", "--runs", "200", "--weeks", "1", "--out", str(out)]
    proc = CliRunner().invoke(app, args)
    assert proc.exit_code == 0, proc.output
    assert "confidence sequence" in proc.output
    report = (out / "report.md").read_text()
    assert "200 A/A runs" in report
    assert (out / "aa.png").stat().st_size > 0
