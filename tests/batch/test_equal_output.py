"""The distributed weekly batch (Ray in local mode) gives exactly the single-process output.

Same synthetic data, same seeds: the candidate artifact (every table, every float to the bit) and the
week's challenges with their budget shadow prices are equal. Blocks are small so that both paths run
several of them, and Ray's two workers each run some.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from engine.artifact import TABLES, CandidateArtifact, write_artifact
from engine.batch.ray_mapper import RayMapper
from engine.challenge import assemble_week, challenges_frame
from engine.cli import app
from engine.data.schema import MEMBER_ID, Dataset
from engine.data.synthetic import generate_synthetic
from engine.rules.config import load_rules
from engine.train.candidates import CandidateBuild, fit_candidates
from engine.train.config import FeatureParams, LightFMParams, RankerParams, TrainConfig

CUTOFF = 16
MEMBER_BLOCK = 60


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    """The shared synthetic data set (tests/conftest.py), built once for the module."""
    return generate_synthetic(n_members=200, n_items=300, n_weeks=20, seed=7)


@pytest.fixture(scope="module")
def config() -> TrainConfig:
    """Small, single-threaded and seeded (as tests/train's fast config), in blocks of 60 members."""
    lfm = LightFMParams(no_components=8, epochs=3, warm_start_epochs=1, num_threads=1, random_state=3)
    return TrainConfig(
        lightfm=lfm,
        category_lightfm=lfm,
        ranker=RankerParams(hist_gb={"max_iter": 20}),
        features=FeatureParams(member_block=MEMBER_BLOCK),
        progress=False,
    )


@pytest.fixture(scope="module")
def single(dataset: Dataset, config: TrainConfig) -> CandidateBuild:
    return fit_candidates(dataset, CUTOFF, config, model_version="v")


@pytest.fixture(scope="module")
def distributed(dataset: Dataset, config: TrainConfig, ray_mapper: RayMapper) -> CandidateBuild:
    return fit_candidates(dataset, CUTOFF, config, model_version="v", mapper=ray_mapper)


def _tables(artifact: CandidateArtifact) -> dict[str, pd.DataFrame]:
    return {name: artifact.table(name) for name in [*TABLES, "categories"]}


def test_the_artifact_is_the_same(
    single: CandidateBuild, distributed: CandidateBuild, ray_mapper: RayMapper
) -> None:
    assert len(ray_mapper.last_stats) >= 3  # several blocks went through Ray
    for name, frame in _tables(single.artifact).items():
        pd.testing.assert_frame_equal(distributed.artifact.table(name), frame, check_exact=True, obj=name)
    ignore = {"created_at"}
    manifest = {k: v for k, v in dataclasses.asdict(single.artifact.manifest).items() if k not in ignore}
    other = {k: v for k, v in dataclasses.asdict(distributed.artifact.manifest).items() if k not in ignore}
    assert other == manifest
    assert (distributed.params, distributed.metrics) == (single.params, single.metrics)
    assert single.artifact.stretch[MEMBER_ID].nunique() > 2 * MEMBER_BLOCK


def test_the_weeks_challenges_and_shadow_prices_are_the_same(
    single: CandidateBuild, ray_mapper: RayMapper
) -> None:
    rules = load_rules()
    unlimited, _ = assemble_week(single.artifact, rules, CUTOFF)
    spend = sum(c.expected_cost for c in unlimited if c.status == "issued")
    # half of it as the budget, so that the global allocation after the blocks withholds some
    budget = rules.budget.model_copy(update={"weekly_expected_cost": spend / 2, "weekly_trial_cost": None})
    rules = rules.model_copy(update={"budget": budget})
    one, one_prices = assemble_week(single.artifact, rules, CUTOFF)
    many, many_prices = assemble_week(single.artifact, rules, CUTOFF, mapper=ray_mapper, block_members=37)
    assert len(ray_mapper.last_stats) >= 3
    assert many_prices == one_prices
    assert one_prices.total is not None  # the budget did bind
    assert [c.model_dump() for c in many] == [c.model_dump() for c in one]
    pd.testing.assert_frame_equal(challenges_frame(many), challenges_frame(one), check_exact=True)
    assert {c.reason_code for c in one} >= {"issued", "budget"}


def test_offers_challenges_on_ray_writes_the_same_file(
    single: CandidateBuild, ray_mapper: RayMapper, tmp_path: Path
) -> None:
    """The CLI switches engine by configuration only (Ray is already up: the session's instance)."""
    directory = write_artifact(single.artifact, tmp_path / "artifact")
    batch = tmp_path / "batch.toml"
    batch.write_text('[engine]\ntype = "ray"\naddress = "local"\nworkers = 2\nblock_members = 50\n')
    files, outputs = {}, {}
    for name, options in {"single": [], "ray": ["--batch-config", str(batch)]}.items():
        files[name] = tmp_path / f"{name}.parquet"
        args = ["challenges", "--as-of", str(CUTOFF), "--out", str(files[name]), "--artifact", str(directory)]
        result = CliRunner().invoke(app, [*args, *options])
        assert result.exit_code == 0, result.output
        outputs[name] = result.output
    assert "batch engine single process: 1 member block(s)" in outputs["single"]
    blocks = -(-len(single.artifact.members) // 50)
    assert f"batch engine ray at local, 2 workers: {blocks} member block(s)" in outputs["ray"]
    pd.testing.assert_frame_equal(pd.read_parquet(files["ray"]), pd.read_parquet(files["single"]))
