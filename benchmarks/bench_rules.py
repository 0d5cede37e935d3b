"""Speed of rule evaluation: challenges assembled per second; prints numbers, asserts nothing.

    .venv/bin/python benchmarks/bench_rules.py                       # champion artifact, else synthetic
    .venv/bin/python benchmarks/bench_rules.py --artifact DIR        # an exported artifact
    .venv/bin/python benchmarks/bench_rules.py --as-of 50            # train on Complete Journey first
    .venv/bin/python benchmarks/bench_rules.py --synthetic 200000    # large synthetic candidate set

Reports, for every member of the artifact: grouping the artifact into per-member records, assembling
each member's challenge (eligibility, combination search, both guards, explanation), the budget across
members, and the whole ``assemble_batch``.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from engine.artifact import CandidateArtifact, Manifest, read_artifact
from engine.candidates import Catalog, iter_member_candidates
from engine.challenge import apply_budget, assemble_batch, assemble_challenge
from engine.cli.rules_cmd import champion_artifact
from engine.config import CONFIG_DIR
from engine.data.schema import TIERS
from engine.errors import ArtifactError
from engine.rules.config import load_rules, rules_version


def synthetic_artifact(n_members: int, seed: int = 0) -> CandidateArtifact:
    """Candidates shaped like a trained artifact: 20 habitual and 10 stretch per member, 40 bought cats."""
    rng = np.random.default_rng(seed)
    n_items, n_cats, k_h, k_s, k_b = 20_000, 300, 20, 10, 40
    item_cat = rng.integers(0, n_cats, n_items)
    cats = np.array([f"CAT{c}" for c in range(n_cats)], dtype=object)
    items = pd.DataFrame(
        {
            "item_id": np.arange(n_items),
            "name": [f"item {i}" for i in range(n_items)],
            "category": cats[item_cat],
            "department": np.where(rng.random(n_items) < 0.01, "FUEL", "GROCERY"),
            "price": rng.uniform(0.5, 15.0, n_items),
            "margin_rate": rng.uniform(0.05, 0.5, n_items),
            "excluded": rng.random(n_items) < 0.01,
        }
    )
    members = np.arange(n_members)
    habitual = pd.DataFrame(
        {
            "member_id": np.repeat(members, k_h),
            "item_id": rng.integers(0, n_items, n_members * k_h),
            "score": rng.beta(2, 5, n_members * k_h),
            "n_baskets": rng.integers(1, 40, n_members * k_h),
            "last_week": rng.integers(1, 50, n_members * k_h),
            "rank": np.tile(np.arange(1, k_h + 1), n_members),
        }
    )
    s_items = rng.integers(0, n_items, n_members * k_s)
    stretch = pd.DataFrame(
        {
            "member_id": np.repeat(members, k_s),
            "category": cats[item_cat[s_items]],
            "score": rng.beta(1, 15, n_members * k_s),
            "suggested_item_id": s_items,
            "expected_margin": 0.1,
            "rank": np.tile(np.arange(1, k_s + 1), n_members),
        }
    )
    bought = pd.DataFrame(
        {"member_id": np.repeat(members, k_b), "category": cats[rng.integers(0, n_cats, n_members * k_b)]}
    )
    # the artifact contract: stretch categories are never bought ones
    key = stretch["member_id"].astype(str) + "|" + stretch["category"]
    stretch = stretch[~key.isin(set(bought["member_id"].astype(str) + "|" + bought["category"]))]
    return CandidateArtifact(
        manifest=Manifest("synthetic", 50, 50, "", "synthetic"),
        habitual=habitual,
        stretch=stretch,
        items=items,
        members=pd.DataFrame(
            {
                "member_id": members,
                "tier": rng.choice(list(TIERS), n_members, p=[0.5, 0.3, 0.15, 0.05]),
                "spend_52w": 100.0,
                "last_week": 49,
            }
        ),
        member_categories=bought.drop_duplicates(),
        popular_items=items[["item_id"]].head(20).assign(score=0.1, rank=range(1, 21)),
        popular_categories=pd.DataFrame(
            {"category": cats[:5], "score": 0.01, "suggested_item_id": np.arange(5), "rank": range(1, 6)}
        ),
    )


def _load(args: argparse.Namespace) -> tuple[CandidateArtifact, str]:
    if args.synthetic:
        return synthetic_artifact(args.synthetic), f"synthetic ({args.synthetic:,} members)"
    if args.artifact:
        return read_artifact(args.artifact), f"artifact {args.artifact}"
    if args.as_of:
        from engine.data.loaders import load_dataset
        from engine.train.candidates import build_candidates
        from engine.train.config import load_train_config

        start = time.perf_counter()
        art = build_candidates(load_dataset(as_of_week=args.as_of), args.as_of, load_train_config())
        took = time.perf_counter() - start
        return art, f"Complete Journey, trained before week {args.as_of} in {took:.0f}s"
    try:
        path = champion_artifact()
        return read_artifact(path), f"champion artifact {path}"
    except ArtifactError:
        return synthetic_artifact(200_000), "synthetic (200,000 members; no champion artifact found)"


class _Timer:
    """Prints wall and CPU time of a block and the rate per wall and per CPU second."""

    def __init__(self, label: str, unit: str) -> None:
        self.label, self.unit, self.count = label, unit, 0

    def __enter__(self) -> _Timer:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        wall, cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu
        print(
            f"{self.label}: {self.count:,} {self.unit} in {wall:.2f}s wall / {cpu:.2f}s CPU = "
            f"{self.count / wall:,.0f}/s wall, {self.count / cpu:,.0f}/s CPU "
            f"({cpu / max(self.count, 1) * 1e6:.0f} us CPU each)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--artifact", type=Path)
    parser.add_argument("--as-of", type=int)
    parser.add_argument("--synthetic", type=int)
    parser.add_argument("--rules", type=Path, default=CONFIG_DIR / "rules.toml")
    args = parser.parse_args()
    artifact, source = _load(args)
    rules = load_rules(args.rules)
    week = artifact.manifest.challenge_week
    print(
        f"candidates: {source}; {len(artifact.habitual):,} habitual, {len(artifact.stretch):,} stretch rows"
    )

    # wall and CPU seconds: on a shared machine the CPU time is the figure that compares across runs
    with _Timer("group", "members") as t:
        members = list(iter_member_candidates(artifact))
        catalog = Catalog.from_artifact(artifact)
        t.count = len(members)

    version = rules_version(rules)
    with _Timer("assemble (one at a time, as serving does)", "challenges") as t:
        challenges = [
            assemble_challenge(m, catalog, rules, week, model_version="bench", rules_version=version)
            for m in members
        ]
        t.count = len(challenges)
    with _Timer("budget", "challenges") as t:
        budgeted = apply_budget(challenges, rules.budget.weekly_expected_cost)
        t.count = len(budgeted)
    with _Timer("assemble_batch end to end", "challenges") as t:
        t.count = len(assemble_batch(artifact, rules, week))
    print("outcomes:", dict(Counter(c.reason_code for c in budgeted).most_common()))


if __name__ == "__main__":
    main()
