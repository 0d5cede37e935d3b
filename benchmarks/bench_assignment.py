"""Speed of the experiment loop's hot paths; prints numbers, asserts nothing.

    .venv/bin/python benchmarks/bench_assignment.py [--members 100000] [--events 50000]

- assignment: arms per second for ``--members`` ids (pure Python FNV-1a, GrowthBook v2 double hash);
- exposures: ``record_exposure`` calls per second into a SQLite store (FULL and NORMAL sync);
- purchases: events per second through one bulk ``add_purchases`` transaction.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from engine.experiments.assignment import assign_many
from engine.experiments.definition import find_definition
from engine.experiments.events import ChallengeSnapshot, PurchaseEvent
from engine.experiments.service import record_exposure
from engine.experiments.store import SqliteEventStore


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--exposures", type=int, default=2_000)
    parser.add_argument("--events", type=int, default=50_000)
    args = parser.parse_args()
    definition = find_definition("star_challenge_v1")
    ids = [str(i) for i in range(args.members)]

    start = time.perf_counter()
    arms = assign_many(definition, ids)
    elapsed = time.perf_counter() - start
    print(f"assignment: {args.members:,} members in {elapsed:.3f}s = {args.members / elapsed:,.0f}/s")

    # The stretch pick is a category: any product of C3 counts (items 3 and 10, 17, ... below).
    offer = ChallengeSnapshot(item_ids=("1", "2", "3"), reward_cost=2.0, stretch_category="C3")
    week = definition.start_week
    with tempfile.TemporaryDirectory() as tmp:
        for sync in ("FULL", "NORMAL"):
            with SqliteEventStore(Path(tmp) / f"{sync}.sqlite3", synchronous=sync) as store:
                n = args.exposures
                start = time.perf_counter()
                for m, arm in zip(ids[:n], arms[:n], strict=True):
                    record_exposure(store, definition, arm, m, week, None if arm == "holdout" else offer)
                elapsed = time.perf_counter() - start
                print(
                    f"exposures ({sync}): {n:,} in {elapsed:.3f}s = {n / elapsed:,.0f}/s, "
                    f"{1000 * elapsed / n:.2f} ms each"
                )
                events = [
                    PurchaseEvent(
                        event_id=f"e{i}",
                        member_id=ids[i % n],
                        item_id=str(i % 7 + 7 * (i % 3)),
                        category=f"C{i % 7}",
                        week=week,
                        quantity=1.0,
                        sales_value=2.5,
                    )
                    for i in range(args.events)
                ]
                start = time.perf_counter()
                store.add_purchases(events)
                elapsed = time.perf_counter() - start
                print(
                    f"purchases ({sync}): {args.events:,} in one batch in {elapsed:.3f}s = "
                    f"{args.events / elapsed:,.0f}/s; rewards issued {store.counts()['rewards']:,}"
                )


if __name__ == "__main__":
    main()
