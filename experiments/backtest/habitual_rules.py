"""Where the issued habitual picks lose against the raw top-2: the ranker, or the rules? Tuning weeks only.

For each challenge week (before the first reported cutoff, 30), a model is trained with the shipped
``train.toml`` and the week's challenges are assembled with the shipped rules and with variants. Over the
issued challenges it prints the share of habitual picks bought in the challenge week for

- ``chosen``: the two picks the rules issued;
- ``ranker``: the ranker's top-2 candidates for the same members, before any rule;
- ``raw``: the member's two most-bought products (the issue's raw baseline);

and, for the shipped rules, why the ranker's rank-1 and rank-2 candidates were not the picks (the first
rule that removes them, or "search" when they were eligible and a combination without them won).

Run: ``.venv/bin/python experiments/backtest/habitual_rules.py --weeks 26,28``
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable

import numpy as np
import pandas as pd

from engine.backtest.raw import raw_habitual
from engine.candidates import Catalog, MemberCandidates
from engine.candidates.members import iter_member_candidates
from engine.challenge import assemble_challenge
from engine.data.loaders import load_dataset
from engine.data.schema import CATEGORY, ITEM_ID, MEMBER_ID, WEEK, Dataset
from engine.rules.config import RulesConfig, load_rules
from engine.rules.eligibility import eligibility_index, habitual_block
from engine.train.candidates import build_candidates
from engine.train.config import load_train_config

FIRST_BACKTEST_CUTOFF = 30


def _promotions(base: RulesConfig, left: float) -> RulesConfig:
    promo = base.eligibility.promotions.model_copy(update={"refuse_when_margin_left_below": left})
    return base.model_copy(update={"eligibility": base.eligibility.model_copy(update={"promotions": promo})})


def _reach(base: RulesConfig, floors: dict[str, int]) -> RulesConfig:
    tiers = {
        name: policy.model_copy(
            update={"prefer": "reach", **({"min_stars": floors[name]} if name in floors else {})}
        )
        for name, policy in base.tiers.items()
    }
    return base.model_copy(update={"tiers": tiers})


VARIANTS: dict[str, Callable[[RulesConfig], RulesConfig]] = {
    "shipped": lambda r: r,
    "promo stacking: refuse when margin left < 0.25": lambda r: _promotions(r, 0.25),
    "promo stacking: refuse when margin left < 0": lambda r: _promotions(r, 0.0),
    "every tier prefers reach, floors bronze 10, silver 15": lambda r: _reach(
        r, {"bronze": 10, "silver": 15}
    ),
}


def _raw_top2(data: Dataset, week: int) -> dict[object, list[object]]:
    """Each member's two most-bought products before ``week``: the backtest's own raw baseline."""
    raw = raw_habitual(data.before_week(week).transactions, week)
    return {
        m: [i for i in (h1, h2) if not pd.isna(i)]
        for m, h1, h2 in raw[[MEMBER_ID, "habitual_1", "habitual_2"]].itertuples(index=False)
    }


def _why_not(
    member: MemberCandidates, picks: set[object], catalog: Catalog, rules: RulesConfig, week: int
) -> list[str]:
    index = eligibility_index(rules.eligibility)
    out = []
    for rank, cand in enumerate(member.habitual[:2], start=1):
        if cand.item_id in picks:
            out.append(f"rank {rank}: picked")
            continue
        block = habitual_block(cand, catalog.get(cand.item_id), index, week)
        out.append(f"rank {rank}: {block[0] if block else 'eligible, another combination won'}")
    return out


def main() -> None:
    """Train at each week, assemble under every variant, print the shares."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", default="26,28", help="challenge weeks, all before 30")
    weeks = [int(w) for w in parser.parse_args().weeks.split(",")]
    if max(weeks) >= FIRST_BACKTEST_CUTOFF:
        parser.error(f"tuning weeks only: every week must be before {FIRST_BACKTEST_CUTOFF}")
    data = load_dataset()
    config = load_train_config().model_copy(update={"progress": False})
    shipped = load_rules()
    tx = data.transactions
    for week in weeks:
        artifact = build_candidates(data, week, config)
        catalog = Catalog.from_artifact(artifact)
        now = tx[tx[WEEK] == week]
        bought = set(zip(now[MEMBER_ID], now[ITEM_ID], strict=True))
        cats = now[[MEMBER_ID, ITEM_ID]].merge(data.catalog[[ITEM_ID, CATEGORY]], on=ITEM_ID)
        bought_cat = set(zip(cats[MEMBER_ID], cats[CATEGORY], strict=True))
        raw = _raw_top2(data, week)
        members = list(iter_member_candidates(artifact))
        print(f"\n== challenge week {week}: {len(members):,} members")
        for name, variant in VARIANTS.items():
            rules = variant(shipped)
            rows, why = [], Counter[str]()
            for member in members:
                c = assemble_challenge(member, catalog, rules, week, model_version="m", rules_version="r")
                if c.status != "issued" or c.stretch is None or c.reward is None:
                    continue
                m = member.member_id
                picks = {p.item_id for p in c.habitual}
                top2 = [h.item_id for h in member.habitual[:2]]
                rows.append(
                    {
                        "chosen": np.mean([(m, i) in bought for i in picks]),
                        "ranker": np.mean([(m, i) in bought for i in top2]),
                        "raw": np.mean([(m, i) in bought for i in raw.get(m, [])]) if m in raw else np.nan,
                        "stretch": (m, c.stretch.category) in bought_cat,
                        "profit": c.expected_profit,
                    }
                )
                if name == "shipped":
                    why.update(_why_not(member, picks, catalog, rules, week))
            d = pd.DataFrame(rows)
            print(
                f"{name:55s} issued {len(d) / len(members):.3f}; habitual bought: chosen "
                f"{d['chosen'].mean():.4f}, ranker top-2 {d['ranker'].mean():.4f}, raw top-2 "
                f"{d['raw'].mean():.4f}; stretch {d['stretch'].mean():.4f}; "
                f"expected profit {d['profit'].sum():.1f}"
            )
            if why:
                print(
                    "   why the ranker's top-2 are not the picks: "
                    + ", ".join(f"{k} {v}" for k, v in sorted(why.items()))
                )


if __name__ == "__main__":
    main()
