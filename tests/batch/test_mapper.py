"""The BlockMapper seam: one contract, run against the in-process mapper and Ray in local mode."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

from engine.batch import BlockMapper, InProcessMapper
from engine.batch.ray_mapper import RayMapper
from engine.errors import BatchEngineError


def weighted_sum(shared: dict[str, np.ndarray], block: np.ndarray) -> tuple[float, int]:
    """A block function reading the shared inputs: module-level, as the seam requires."""
    return float(shared["weights"][block].sum()), os.getpid()


def fails_on_three(shared: int, block: int) -> int:
    if block == 3:
        raise ValueError(f"block {block} is bad")
    return shared + block


class BlockMapperContract:
    """What every mapper must do; subclasses provide the ``mapper`` fixture."""

    def test_results_are_those_of_a_loop_in_block_order(self, mapper: BlockMapper) -> None:
        shared = {"weights": np.arange(100, dtype=np.float64) ** 1.5}
        blocks = [np.arange(start, min(start + 7, 100)) for start in range(0, 100, 7)]
        results = mapper.map(weighted_sum, shared, blocks)
        assert [r[0] for r in results] == [weighted_sum(shared, b)[0] for b in blocks]
        assert [s.block for s in mapper.last_stats] == list(range(len(blocks)))
        assert all(s.seconds >= 0 and s.peak_rss_mib > 0 for s in mapper.last_stats)
        assert {s.worker for s in mapper.last_stats} == {pid for _, pid in results}

    def test_no_blocks_give_no_results(self, mapper: BlockMapper) -> None:
        assert mapper.map(fails_on_three, 1, []) == []
        assert mapper.last_stats == []

    def test_a_failing_block_fails_the_map(self, mapper: BlockMapper) -> None:
        with pytest.raises((ValueError, BatchEngineError), match="block 3 is bad"):
            mapper.map(fails_on_three, 10, [1, 2, 3, 4])


class TestInProcessMapper(BlockMapperContract):
    @pytest.fixture
    def mapper(self) -> BlockMapper:
        return InProcessMapper()

    def test_runs_in_this_process(self, mapper: BlockMapper) -> None:
        mapper.map(weighted_sum, {"weights": np.ones(3)}, [np.arange(3)])
        assert mapper.last_stats[0].worker == os.getpid()


class TestRayMapper(BlockMapperContract):
    @pytest.fixture
    def mapper(self, ray_mapper: RayMapper) -> BlockMapper:
        return ray_mapper

    def test_blocks_run_in_worker_processes(self, mapper: BlockMapper) -> None:
        blocks = [np.arange(i, i + 1) for i in range(6)]
        mapper.map(weighted_sum, {"weights": np.ones(6)}, blocks)
        workers = {s.worker for s in mapper.last_stats}
        assert os.getpid() not in workers
        assert 1 <= len(workers) <= mapper.workers

    def test_a_failing_block_is_a_batch_engine_error(self, mapper: BlockMapper) -> None:
        with pytest.raises(BatchEngineError, match="member block"):
            mapper.map(fails_on_three, 10, [1, 2, 3, 4])


def test_without_ray_the_error_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed: `import ray` raises ImportError
    hint = r"Ray is not installed \(pip install 'offer-engine\[distributed\]'\)"
    with pytest.raises(BatchEngineError, match=hint):
        RayMapper("local", 1)
