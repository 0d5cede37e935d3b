"""The weekly batch through the distributed path (Ray in local mode) on synthetic data: time, peak memory
per worker, throughput with 1 and 2 workers, and an extrapolation to 10M members and to a cluster.
Prints numbers; asserts nothing.

    .venv/bin/python benchmarks/bench_distributed.py --members 25000,50000,100000 \
        --out-dir experiments/reports/distributed

For each size: synthetic data (``engine.data.synthetic``), then ``fit_candidates`` and the week's
challenges (``assemble_week``) end to end with a Ray mapper of ``--workers`` (default 2) in local mode.
Every map over member blocks is recorded and replayed with 1 and with 2 workers on the same Ray
instance, which gives the throughput of the distributed stages alone. The global steps (history,
LightFM fits, rankers, shared statistics, the budget allocation) run once in the driver; the
extrapolation keeps them there and spreads only the measured per-block cost over the workers.
"""

from __future__ import annotations

import argparse
import json
import pickle
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from engine.batch import BlockStat, peak_rss_mib
from engine.batch.ray_mapper import RayMapper
from engine.challenge import assemble_week
from engine.data.synthetic import generate_synthetic
from engine.rules.config import load_rules
from engine.train.candidates import fit_candidates
from engine.train.config import TrainConfig, load_train_config

S = TypeVar("S")
B = TypeVar("B")
R = TypeVar("R")

TARGET_MEMBERS = 10_000_000
CLUSTER_WORKERS = (16, 64, 256)


@dataclass
class Stage:
    """One map over member blocks: what it ran on, how long it took, and each block's stats."""

    name: str
    fn: Callable[[Any, Any], Any]
    shared: Any
    blocks: Sequence[Any]
    wall: float
    stats: list[BlockStat]
    shared_mib: float


@dataclass
class RecordingMapper:
    """A :class:`~engine.batch.BlockMapper` that runs on ``inner`` and keeps every map for a replay."""

    inner: RayMapper
    stages: list[Stage] = field(default_factory=list)

    @property
    def workers(self) -> int:
        return self.inner.workers

    @property
    def last_stats(self) -> list[BlockStat]:
        return self.inner.last_stats

    def map(self, fn: Callable[[S, B], R], shared: S, blocks: Sequence[B]) -> list[R]:
        start = time.perf_counter()
        out = self.inner.map(fn, shared, blocks)
        wall = time.perf_counter() - start
        size = len(pickle.dumps(shared, protocol=pickle.HIGHEST_PROTOCOL)) / 2**20
        self.stages.append(Stage(fn.__name__, fn, shared, blocks, wall, self.inner.last_stats, size))
        return out

    def close(self) -> None:
        self.inner.close()


def _config(member_block: int) -> TrainConfig:
    config = load_train_config().model_copy(update={"progress": False})
    features = config.features.model_copy(update={"member_block": member_block})
    return config.model_copy(update={"features": features})


def _worker_peaks(stats: list[BlockStat]) -> dict[int, float]:
    peaks: dict[int, float] = {}
    for s in stats:
        peaks[s.worker] = max(peaks.get(s.worker, 0.0), s.peak_rss_mib)
    return peaks


def _replay(stage: Stage, workers: int) -> tuple[float, float]:
    """Wall seconds and summed block seconds of ``stage`` re-run with ``workers`` workers."""
    mapper = RayMapper("local", workers)  # Ray is already up: this only sets the pool size
    start = time.perf_counter()
    mapper.map(stage.fn, stage.shared, stage.blocks)
    return time.perf_counter() - start, sum(s.seconds for s in mapper.last_stats)


def run_size(n_members: int, args: argparse.Namespace, ray: RayMapper) -> dict[str, Any]:
    """One size end to end through the distributed path; returns the measured numbers."""
    start = time.perf_counter()
    dataset = generate_synthetic(n_members=n_members, n_items=args.items, n_weeks=args.weeks, seed=args.seed)
    data_s = time.perf_counter() - start
    week = dataset.n_weeks + 1
    mapper = RecordingMapper(ray)
    start = time.perf_counter()
    build = fit_candidates(dataset, week, _config(args.member_block), mapper=mapper)
    fit_s = time.perf_counter() - start
    del dataset
    start = time.perf_counter()
    challenges, _ = assemble_week(
        build.artifact, load_rules(), week, mapper=mapper, block_members=args.member_block
    )
    week_s = time.perf_counter() - start
    issued = sum(c.status == "issued" for c in challenges)
    end_to_end = fit_s + week_s
    mapped = sum(s.wall for s in mapper.stages)
    print(
        f"\n== {n_members:,} members ({len(build.artifact.members):,} in the artifact, {issued:,} issued): "
        f"data {data_s:.1f} s; end to end {end_to_end:.1f} s = candidates {fit_s:.1f} s + challenges "
        f"{week_s:.1f} s; of which distributed maps {mapped:.1f} s, global steps {end_to_end - mapped:.1f} s"
    )
    print(f"   candidate steps: {build.timings}")
    stages = []
    for stage in mapper.stages:
        peaks = _worker_peaks(stage.stats)
        block_s = [s.seconds for s in stage.stats]
        print(
            f"   map {stage.name}: {len(stage.blocks)} blocks in {stage.wall:.1f} s wall on {ray.workers} "
            f"workers; per block {np.mean(block_s):.2f} s mean, {max(block_s):.2f} s max; shared inputs "
            f"{stage.shared_mib:,.0f} MiB (pickled); worker peak RSS "
            + ", ".join(f"{p:,.0f} MiB" for p in peaks.values())
        )
        replays = {}
        for workers in args.replay_workers if n_members <= args.replay_max_members else []:
            wall, busy = _replay(stage, workers)
            replays[workers] = wall
            print(
                f"     {workers} worker(s): {wall:.1f} s wall, {n_members / wall:,.0f} members/s "
                f"({busy:.1f} s in blocks)"
            )
        stages.append(
            {
                "name": stage.name,
                "blocks": len(stage.blocks),
                "wall_s": stage.wall,
                "block_s": block_s,
                "shared_mib": stage.shared_mib,
                "worker_peak_mib": list(peaks.values()),
                "replay_wall_s": replays,
            }
        )
    print(f"   driver peak RSS {peak_rss_mib():,.0f} MiB (process high-water mark so far)")
    return {
        "members": n_members,
        "end_to_end_s": end_to_end,
        "candidates_s": fit_s,
        "challenges_s": week_s,
        "mapped_s": mapped,
        "global_s": end_to_end - mapped,
        "timings": build.timings,
        "stages": stages,
        "driver_peak_mib": peak_rss_mib(),
    }


def extrapolate(runs: list[dict[str, Any]], member_block: int) -> list[str]:
    """Lines extrapolating the measured costs to 10M members, on this machine and on clusters.

    Global seconds and per-block seconds are each fitted as ``a + b x members`` (least squares over
    the measured sizes); the distributed work at 10M is ``blocks x per-block seconds``, spread over the
    workers; the global steps stay on one machine.
    """
    n = np.array([r["members"] for r in runs], dtype=float)
    glob = np.array([r["global_s"] for r in runs])
    # seconds of block work per member, summed over both stages (candidates and challenges)
    per_member = np.array([sum(sum(s["block_s"]) for s in r["stages"]) / r["members"] for r in runs])
    shared = np.array([sum(s["shared_mib"] for s in r["stages"]) for r in runs])
    lines = []
    if len(runs) >= 2:
        g_slope, g_icpt = np.polyfit(n, glob, 1)
        s_slope, s_icpt = np.polyfit(n, shared, 1)
    else:
        g_slope, g_icpt = glob[0] / n[0], 0.0
        s_slope, s_icpt = shared[0] / n[0], 0.0
    work_per_member = float(per_member[-1])  # the largest size: the per-block cost at full blocks
    global_10m = g_icpt + g_slope * TARGET_MEMBERS
    work_10m = work_per_member * TARGET_MEMBERS
    blocks_10m = -(-TARGET_MEMBERS // member_block)
    lines.append(
        f"measured per-block cost: {work_per_member * member_block:.2f} s per block of {member_block:,} "
        f"members ({work_per_member * 1e6:.0f} us/member, candidates + challenges), at "
        f"{int(n[-1]):,} members"
    )
    lines.append(
        f"global steps fitted as {g_icpt:.1f} s + {g_slope * 1e6:.1f} us x members; shared inputs "
        f"{s_icpt:.0f} MiB + {s_slope * 1e6:.1f} MiB per 1M members"
    )
    lines.append(
        f"10M members ({blocks_10m:,} blocks): global steps ~{global_10m / 60:.0f} min in one process, "
        f"block work ~{work_10m / 3600:.1f} CPU-hours; shared inputs ~{(s_icpt + s_slope * 1e7) / 1024:.1f} "
        "GiB per worker"
    )
    for workers in (1, 2, *CLUSTER_WORKERS):
        total = global_10m + work_10m / min(workers, blocks_10m)
        lines.append(
            f"  {workers:>4} workers: ~{total / 60:,.0f} min (global {global_10m / 60:.0f} + blocks "
            f"{work_10m / min(workers, blocks_10m) / 60:,.1f})"
        )
    return lines


def plot(runs: list[dict[str, Any]], path: Path) -> None:
    """Time against members: end to end, global steps, and the distributed maps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = [r["members"] / 1000 for r in runs]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(n, [r["end_to_end_s"] for r in runs], "o-", label="end to end (2 workers)")
    ax.plot(n, [r["global_s"] for r in runs], "s--", label="global steps (driver)")
    ax.plot(n, [r["mapped_s"] for r in runs], "^-", label="member-block maps, 2 workers")
    for workers in (1, 2):
        ax.plot(
            n,
            [sum(s["replay_wall_s"].get(workers, np.nan) for s in r["stages"]) for r in runs],
            ":",
            marker="x",
            label=f"maps replayed, {workers} worker(s)",
        )
    ax.set_xlabel("synthetic members (thousands)")
    ax.set_ylabel("seconds")
    ax.set_title("Weekly batch on Ray (local mode, 2 shared cores)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def load_runs(path: Path) -> list[dict[str, Any]]:
    """The runs saved in a results.json (JSON keys are strings: worker counts become ints again)."""
    runs: list[dict[str, Any]] = json.loads(path.read_text())
    for run in runs:
        for stage in run["stages"]:
            stage["replay_wall_s"] = {int(k): v for k, v in stage["replay_wall_s"].items()}
    return runs


def main() -> None:
    """Run every size, print the numbers and the extrapolation; optionally save JSON and a plot."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", default="25000,50000,100000", help="comma-separated sizes")
    parser.add_argument("--items", type=int, default=3_000)
    parser.add_argument("--weeks", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2, help="workers of the end-to-end run")
    parser.add_argument("--replay-workers", default="1,2", help="worker counts the maps are replayed with")
    parser.add_argument(
        "--replay-max-members", type=int, default=10**9, help="replay the maps only up to this size"
    )
    parser.add_argument("--member-block", type=int, default=20_000, help="[features] member_block")
    parser.add_argument("--append", action="store_true", help="add to the --out-dir results.json")
    parser.add_argument("--out-dir", type=Path, default=None, help="write results.json and curve.png here")
    parser.add_argument(
        "--from-json", type=Path, default=None, help="only extrapolate and plot a saved results.json"
    )
    args = parser.parse_args()
    args.replay_workers = [int(w) for w in args.replay_workers.split(",")]
    sizes = [int(m) for m in args.members.split(",")]
    if args.from_json is not None:
        report(load_runs(args.from_json), args)
        return
    start = time.perf_counter()
    ray = RayMapper("local", args.workers, cpus=max(args.workers, *args.replay_workers))
    print(f"Ray local mode started in {time.perf_counter() - start:.1f} s; block of {args.member_block:,}")
    saved = args.out_dir / "results.json" if args.out_dir is not None else None
    runs = load_runs(saved) if args.append and saved is not None and saved.exists() else []
    try:
        for n_members in sizes:
            runs.append(run_size(n_members, args, ray))
            if args.out_dir is not None:  # keep what was measured even if a later size does not finish
                args.out_dir.mkdir(parents=True, exist_ok=True)
                (args.out_dir / "results.json").write_text(json.dumps(runs, indent=2, default=float))
    finally:
        ray.close()
    report(runs, args)


def report(runs: list[dict[str, Any]], args: argparse.Namespace) -> None:
    """Print the summary table and the extrapolation; plot when ``--out-dir`` is given."""
    print("\n== measured (Ray local mode, end to end with 2 workers; maps replayed with 1 and 2)")
    header = ("members", "end to end s", "global s", "maps s", "maps 1w s", "maps 2w s")
    print(" ".join(f"{h:>12}" for h in header))
    for r in runs:
        replay = {w: sum(s["replay_wall_s"].get(w, np.nan) for s in r["stages"]) for w in (1, 2)}
        print(
            f"{r['members']:>12,} {r['end_to_end_s']:>12.1f} {r['global_s']:>12.1f} {r['mapped_s']:>12.1f} "
            f"{replay[1]:>12.1f} {replay[2]:>12.1f}"
        )
    print("\n== extrapolation (from the measured sizes; not measured)")
    for line in extrapolate(runs, args.member_block):
        print(line)
    if args.out_dir is not None:
        args.out_dir.mkdir(parents=True, exist_ok=True)
        plot(runs, args.out_dir / "curve.png")
        print(f"wrote {args.out_dir / 'curve.png'}")


if __name__ == "__main__":
    main()
