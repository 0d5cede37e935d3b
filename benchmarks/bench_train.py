"""Training speed and memory: candidate building on synthetic data of a chosen size, or on the full
Complete Journey data, plus LightFM top-k scoring throughput. Prints numbers; asserts nothing.

    .venv/bin/python benchmarks/bench_train.py --members 20000 --items 3000 --weeks 30
    .venv/bin/python benchmarks/bench_train.py --members 100000 --no-scoring --member-block 10000
    .venv/bin/python benchmarks/bench_train.py --complete-journey

Peak memory is reported twice: the process's high-water mark (data generation included) and, on
Linux, the high-water mark of ``fit_candidates`` alone (the kernel's counter is reset just before it).
The ``--member-block``, ``--neighbour-pool`` and ``--ranker-max-members`` overrides are left out of
the config when not given, so the script also runs against older code without those settings.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from engine.data.schema import Dataset
from engine.train.candidates import fit_candidates
from engine.train.config import TrainConfig, load_train_config

_STATUS = Path("/proc/self/status")


def _peak_rss_mib() -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS counter (VmHWM) of this process; False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _status_mib(key: str) -> float:
    for line in _STATUS.read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1]) / 1024  # kB
    return float("nan")


def _dataset(args: argparse.Namespace) -> Dataset:
    if args.complete_journey:
        from engine.data.loaders import load_dataset

        return load_dataset()
    from engine.data.synthetic import generate_synthetic

    return generate_synthetic(n_members=args.members, n_items=args.items, n_weeks=args.weeks, seed=args.seed)


def _config(args: argparse.Namespace) -> TrainConfig:
    config = load_train_config().model_copy(update={"progress": False})
    features: dict[str, Any] = {}
    if args.member_block is not None:
        features["member_block"] = args.member_block
    if args.neighbour_pool is not None:
        features["n_neighbour_pool"] = args.neighbour_pool
    ranker: dict[str, Any] = {}
    if args.ranker_max_members is not None:
        ranker["ranker_max_members"] = args.ranker_max_members
    if not features and not ranker:
        return config
    return config.model_validate(
        {
            **config.model_dump(),
            "features": {**config.features.model_dump(), **features},
            "ranker": {**config.ranker.model_dump(), **ranker},
        }
    )


def _scoring_throughput() -> None:
    from engine.train.config import LightFMParams
    from engine.train.model import LightFMModel

    # Scoring throughput of the matrix-multiply path at scale, after one epoch on random interactions.
    rng = np.random.default_rng(0)
    n_members, n_items, per_member = 200_000, 20_000, 10
    rows_idx = np.repeat(np.arange(n_members), per_member)
    cols_idx = rng.integers(0, n_items, len(rows_idx))
    interactions = sp.coo_matrix(
        (np.ones(len(rows_idx), np.float32), (rows_idx, cols_idx)), (n_members, n_items)
    )
    interactions.sum_duplicates()
    model = LightFMModel(LightFMParams(no_components=32, epochs=1)).fit(interactions)
    start = time.perf_counter()
    rows = sum(len(batch[0]) for batch in model.iter_top_k(np.arange(n_members), 20))
    took = time.perf_counter() - start
    print(f"top-20: {n_members:,} members x {n_items:,} items in {took:.1f} s ({n_members / took:,.0f}/s)")
    assert rows == n_members * 20


def main() -> None:
    """Run the benchmark and print one line per measurement."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--items", type=int, default=3_000)
    parser.add_argument("--weeks", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--complete-journey", action="store_true")
    parser.add_argument("--member-block", type=int, default=None, help="[features] member_block")
    parser.add_argument("--neighbour-pool", type=int, default=None, help="[features] n_neighbour_pool")
    parser.add_argument("--ranker-max-members", type=int, default=None, help="[ranker] ranker_max_members")
    parser.add_argument("--no-scoring", action="store_true", help="skip the LightFM top-k throughput part")
    args = parser.parse_args()

    start = time.perf_counter()
    dataset = _dataset(args)
    print(
        f"data: {dataset.source}, {len(dataset.transactions):,} lines in {time.perf_counter() - start:.1f} s"
    )
    config = _config(args)
    print(f"settings: features {config.features.model_dump()}, ranker_max_members", end=" ")
    print(config.ranker.model_dump().get("ranker_max_members", "(not a setting)"))
    rss_before = _status_mib("VmRSS")
    reset = _reset_peak_rss()
    cpu = time.process_time()
    start = time.perf_counter()
    build = fit_candidates(dataset, dataset.n_weeks + 1, config)
    wall = time.perf_counter() - start
    fit_peak = _status_mib("VmHWM") if reset else float("nan")
    print(f"fit_candidates: {wall:.1f} s wall, {time.process_time() - cpu:.1f} s CPU, steps {build.timings}")
    print(f"rankers: {build.params}")
    art = build.artifact
    print(
        f"candidates: {len(art.habitual):,} habitual, {len(art.stretch):,} stretch for {len(art.members):,}"
    )
    print(
        f"peak RSS: {_peak_rss_mib():,.0f} MiB for the process; fit_candidates peak {fit_peak:,.0f} MiB "
        f"(RSS before it {rss_before:,.0f} MiB)"
    )
    if not args.no_scoring:
        _scoring_throughput()


if __name__ == "__main__":
    main()
