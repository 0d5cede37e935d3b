"""Scale benchmark for the synthetic generator: write N members in chunks, print rows/s and peak RSS.

Run:  nice .venv/bin/python benchmarks/bench_synthetic.py --members 1000000
Files go to a temporary folder that is deleted afterwards (``--keep DIR`` writes there instead).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from engine.data.synthetic import SyntheticConfig, write_synthetic


def _peak_rss_mib() -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def main() -> None:
    """Parse arguments, generate, and print the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=5_000)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--chunk-size", type=int, default=SyntheticConfig().chunk_size)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    parser.add_argument("--keep", type=Path, default=None, help="write here and keep the files")
    args = parser.parse_args()

    config = SyntheticConfig(chunk_size=args.chunk_size)
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or Path(tmp)
        start = time.perf_counter()
        source = write_synthetic(out, args.members, args.items, args.weeks, args.seed, args.format, config)
        seconds = time.perf_counter() - start
        if args.format == "parquet":
            rows = pq.ParquetFile(source.transactions).metadata.num_rows
        else:
            with source.transactions.open("rb") as fh:
                rows = sum(1 for _ in fh) - 1
        size = sum(p.stat().st_size for p in out.iterdir()) / 2**20
    print(
        f"members={args.members:,} items={args.items:,} weeks={args.weeks} "
        f"chunk={args.chunk_size:,} format={args.format}"
    )
    print(
        f"transaction rows={rows:,} in {seconds:.1f} s -> {rows / seconds:,.0f} rows/s "
        f"({args.members / seconds:,.0f} members/s)"
    )
    print(f"files {size:,.0f} MiB; peak RSS {_peak_rss_mib():,.0f} MiB")


if __name__ == "__main__":
    main()
