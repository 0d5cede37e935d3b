"""Training speed and memory: candidate building on synthetic data of a chosen size, or on the full
Complete Journey data, plus LightFM top-k scoring throughput. Prints numbers; asserts nothing.

    .venv/bin/python benchmarks/bench_train.py --members 20000 --items 3000 --weeks 30
    .venv/bin/python benchmarks/bench_train.py --complete-journey
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import scipy.sparse as sp

from engine.data.schema import Dataset
from engine.train.candidates import fit_candidates
from engine.train.config import load_train_config


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _dataset(args: argparse.Namespace) -> Dataset:
    if args.complete_journey:
        from engine.data.loaders import load_dataset

        return load_dataset()
    from engine.data.synthetic import generate_synthetic

    return generate_synthetic(n_members=args.members, n_items=args.items, n_weeks=args.weeks, seed=args.seed)


def main() -> None:
    """Run the benchmark and print one line per measurement."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--items", type=int, default=3_000)
    parser.add_argument("--weeks", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--complete-journey", action="store_true")
    args = parser.parse_args()

    start = time.perf_counter()
    dataset = _dataset(args)
    print(
        f"data: {dataset.source}, {len(dataset.transactions):,} lines in {time.perf_counter() - start:.1f} s"
    )
    config = load_train_config().model_copy(update={"progress": False})
    cpu = time.process_time()
    start = time.perf_counter()
    build = fit_candidates(dataset, dataset.n_weeks + 1, config)
    wall = time.perf_counter() - start
    print(f"fit_candidates: {wall:.1f} s wall, {time.process_time() - cpu:.1f} s CPU, steps {build.timings}")
    print(f"rankers: {build.params}")
    art = build.artifact
    print(
        f"candidates: {len(art.habitual):,} habitual, {len(art.stretch):,} stretch for {len(art.members):,}"
    )
    print(f"peak RSS: {_peak_rss_mib():,.0f} MiB")

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


if __name__ == "__main__":
    main()
