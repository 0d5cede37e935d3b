"""Can a member complete a challenge with a stretch product whose margin does not carry the reward? A check.

The stretch pick is a category: any product of it in the serving catalog completes it, but the hard
guard counts the margin of the suggested product only. For a tuning week (before the first reported
cutoff, 30), a model is trained with the shipped configs and the week's challenges assembled with the
shipped rules; for each issued challenge the suggested product's margin is replaced by that of another
product of the category in the artifact's catalog (at the price members are expected to pay that week),
taken at the lowest margin, the 10th percentile and the median, over all of the category's products and
over those the item rules let carry an offer. It counts the challenges whose reward would then exceed
``hard_guard.max_reward_share`` of the three purchases' margin, and those whose reward would exceed the
whole of it (money lost on the qualifying purchases).

Run: ``.venv/bin/python experiments/prices/category_floor.py [--week 26]``
"""

from __future__ import annotations

import argparse
import math
from collections import defaultdict

import numpy as np

from engine.candidates import Catalog
from engine.candidates.members import iter_member_candidates
from engine.challenge import assemble_challenge
from engine.data.loaders import load_dataset
from engine.rules.config import load_rules
from engine.rules.eligibility import eligibility_index, item_block
from engine.train.candidates import build_candidates
from engine.train.config import load_train_config

FIRST_BACKTEST_CUTOFF = 30
QUANTILES = {"lowest": 0.0, "10th percentile": 0.1, "median": 0.5}


def main() -> None:
    """Assemble the week's challenges and count those a cheaper stretch product would break."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--week", type=int, default=26)
    week = parser.parse_args().week
    if week >= FIRST_BACKTEST_CUTOFF:
        parser.error(f"a tuning week only: before {FIRST_BACKTEST_CUTOFF}")
    data = load_dataset()
    config = load_train_config().model_copy(update={"progress": False})
    rules = load_rules()
    share = rules.hard_guard.max_reward_share
    artifact = build_candidates(data, week, config)
    catalog = Catalog.from_artifact(artifact)
    index = eligibility_index(rules.eligibility)
    margins: dict[str, dict[str, list[float]]] = {"all": defaultdict(list), "eligible": defaultdict(list)}
    for info in catalog:
        if math.isfinite(info.unit_margin):
            margins["all"][info.category].append(info.unit_margin)
            if item_block(info, index) is None:
                margins["eligible"][info.category].append(info.unit_margin)
    issued = []
    for member in iter_member_candidates(artifact):
        c = assemble_challenge(member, catalog, rules, week, model_version="m", rules_version="r")
        if c.status == "issued" and c.stretch is not None and c.reward is not None:
            habitual = sum(catalog[p.item_id].unit_margin for p in c.habitual)
            issued.append((habitual, c.stretch.category, c.reward.cash_cost))
    print(f"week {week}: {len(issued):,} issued challenges with a stretch category")
    for scope, by_category in margins.items():
        for name, q in QUANTILES.items():
            over = lost = 0
            for habitual, category, cost in issued:
                values = by_category.get(category)
                floor = float(np.quantile(values, q)) if values else math.nan
                total = habitual + floor
                over += not cost <= share * total  # NaN: cannot be evaluated, counted as failing
                lost += not cost <= total
            n = len(issued)
            print(
                f"  {scope:8s} products, {name:15s}: over the hard guard {over:5,} ({over / n:.1%}), "
                f"reward above the whole margin {lost:5,} ({lost / n:.1%})"
            )


if __name__ == "__main__":
    main()
