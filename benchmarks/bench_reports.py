"""Time of each marketer report on the configured data (full Complete Journey by default); prints numbers,
asserts nothing.

    .venv/bin/python benchmarks/bench_reports.py
    .venv/bin/python benchmarks/bench_reports.py --challenges challenges_w50.parquet   # offer reports too

For each report: building it (the numbers and charts) and writing its files, each timed, after one load
of the data (timed once: ``offers report NAME`` pays it on every run, so the per-command time is the
load plus the report's own). The offer reports read a saved ``offers challenges`` file; without
``--challenges`` they are skipped.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from engine.reports import REPORTS, load_report_data, load_reports_config, run_report, write_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--challenges", type=Path, default=None, help="a saved `offers challenges` file")
    args = parser.parse_args()
    config = load_reports_config()
    start = time.perf_counter()
    data = load_report_data(challenges=args.challenges)
    load_s = time.perf_counter() - start
    tx = data.dataset.transactions
    print(f"data: {data.dataset.source}, {len(tx):,} lines, {tx['member_id'].nunique():,} members")
    print(f"load (every `offers report` run pays it): {load_s:6.1f} s")
    print(f"{'report':<16} {'build s':>8} {'write s':>8} {'command s':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, spec in REPORTS.items():
            if spec.needs_challenges and data.challenges is None:
                print(f"{name:<16} skipped: needs --challenges FILE")
                continue
            t0 = time.perf_counter()
            report = run_report(name, data, config)
            t1 = time.perf_counter()
            write_report(report, Path(tmp) / name, rows=config.markdown_rows, dpi=config.dpi, command=name)
            t2 = time.perf_counter()
            print(f"{name:<16} {t1 - t0:8.1f} {t2 - t1:8.1f} {load_s + t2 - t0:10.1f}")


if __name__ == "__main__":
    main()
