"""Which stretch ranking could reach 1.3x the raw baseline's 9-week category spend? Tuning weeks only.

The spend bar of issue 11 asks the issued stretch categories for 1.3x the spend of "the most popular
never-bought category" over the challenge week and the 8 weeks after it. This script measures, with no
rules and no model, for members who shopped in the 8 weeks before each cutoff ``c`` (cutoffs with
``c + 8`` before the first reported cutoff, 30, so no reported week is read), the mean spend in the top-1
never-bought category over weeks ``c .. c + 8`` and the share who bought it in week ``c``, for

- ``popular``: the raw baseline (share of the window's shoppers who bought the category);
- ``hazard``: share of the category's never-buyers at ``c - 8`` who bought it in weeks ``c - 8 .. c - 1``;
- ``conversion spend``: mean spend over 9 weeks of a never-buyer at ``c - 9`` in the category over
  weeks ``c - 9 .. c - 1`` (everything before ``c``): the population's expected 9-week spend of a
  never-buyer, the quantity the bar measures;
- ``popular x spend per buyer``: popularity times the mean 9-week spend of the window's buyers.

Run: ``.venv/bin/python experiments/backtest/spend_ceiling.py [--cutoffs 14,16,18,20,21]``
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from engine.data.loaders import load_dataset
from engine.data.schema import CATEGORY, DEPARTMENT, ITEM_ID, MARGIN_RATE, MEMBER_ID, SALES_VALUE, WEEK
from engine.rules.config import load_rules

FIRST_BACKTEST_CUTOFF = 30
HORIZON = 9
WINDOW = 8
BLEND_POWERS = (0.1, 0.25, 0.5, 1.0)


def main() -> None:
    """Build the member x category x week spend cube and print each ranking's numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cutoffs", default="14,16,18,20,21")
    cutoffs = [int(c) for c in parser.parse_args().cutoffs.split(",")]
    if max(cutoffs) + HORIZON - 1 >= FIRST_BACKTEST_CUTOFF:
        parser.error(f"every cutoff + {HORIZON - 1} must be before {FIRST_BACKTEST_CUTOFF}")
    data = load_dataset()
    tx = data.transactions.join(data.catalog.set_index(ITEM_ID)[[CATEGORY]], on=ITEM_ID)
    tx = tx[tx[CATEGORY].notna()]
    members = pd.Index(pd.unique(tx[MEMBER_ID]))
    cats = pd.Index(sorted(pd.unique(tx[CATEGORY])))
    n_weeks = int(tx[WEEK].max()) + 1
    cube = np.zeros((len(members), len(cats), n_weeks), dtype=np.float32)
    np.add.at(
        cube,
        (members.get_indexer(tx[MEMBER_ID]), cats.get_indexer(tx[CATEGORY]), tx[WEEK].to_numpy()),
        tx[SALES_VALUE].to_numpy(dtype=np.float32),
    )
    rules = load_rules().eligibility
    dept = data.catalog.dropna(subset=[CATEGORY]).groupby(CATEGORY)[DEPARTMENT].agg(lambda d: set(d))
    excluded = np.array(
        [c in rules.excluded_categories or bool(dept[c] & set(rules.excluded_departments)) for c in cats]
    )
    margin_cube = np.zeros_like(cube)
    rate = tx[ITEM_ID].map(data.catalog.set_index(ITEM_ID)[MARGIN_RATE]).fillna(0.0).to_numpy(np.float32)
    np.add.at(
        margin_cube,
        (members.get_indexer(tx[MEMBER_ID]), cats.get_indexer(tx[CATEGORY]), tx[WEEK].to_numpy()),
        tx[SALES_VALUE].to_numpy(dtype=np.float32) * rate,
    )
    bought = cube > 0
    shopped = bought.any(axis=1)  # member x week
    rows = []
    for c in cutoffs:
        ever = bought[:, :, :c].any(axis=2)
        active = shopped[:, c - WINDOW : c].any(axis=1)
        win_buy = bought[:, :, c - WINDOW : c].any(axis=2)
        popular = win_buy[active].mean(axis=0)
        never_then = ~bought[:, :, : c - WINDOW].any(axis=2)
        hazard = (win_buy & never_then).sum(axis=0) / np.maximum(never_then.sum(axis=0), 1)
        old = c - HORIZON
        never_old = ~bought[:, :, :old].any(axis=2)
        conv = (cube[:, :, old:c].sum(axis=2) * never_old).sum(axis=0) / np.maximum(never_old.sum(axis=0), 1)
        buyers = win_buy & active[:, None]
        per_buyer = cube[:, :, c - HORIZON : c].sum(axis=2)
        spend_buyer = (per_buyer * buyers).sum(axis=0) / np.maximum(buyers.sum(axis=0), 1)
        adopters = never_old & bought[:, :, old:c].any(axis=2)
        per_adopter = (cube[:, :, old:c].sum(axis=2) * adopters).sum(axis=0) / np.maximum(
            adopters.sum(axis=0), 1
        )
        margin_adopter = (margin_cube[:, :, old:c].sum(axis=2) * adopters).sum(axis=0) / np.maximum(
            adopters.sum(axis=0), 1
        )
        future = cube[:, :, c : c + HORIZON].sum(axis=2)
        now = bought[:, :, c]
        scores = {
            "popular": popular,
            "hazard": hazard,
            "conversion spend": conv,
            "popular x spend per buyer": popular * spend_buyer,
        }
        for power in BLEND_POWERS:
            scores[f"hazard x spend per adopter^{power:g}"] = hazard * per_adopter**power
            scores[f"hazard x margin per adopter^{power:g}"] = hazard * margin_adopter**power
        for name, score in scores.items():
            blocked = ever if name == "popular" else ever | excluded[None, :]
            masked = np.where(blocked, -np.inf, np.broadcast_to(score, ever.shape))
            pick = masked.argmax(axis=1)
            ok = active & np.isfinite(masked.max(axis=1))
            idx = np.flatnonzero(ok)
            rows.append(
                {
                    "cutoff": c,
                    "ranking": name,
                    "members": len(idx),
                    "spend_9w": float(future[idx, pick[idx]].mean()),
                    "adopted_week": float(now[idx, pick[idx]].mean()),
                    "top picks": ", ".join(cats[pd.Series(pick[idx]).value_counts().index[:3]]),
                }
            )
    table = pd.DataFrame(rows)
    pooled = (
        table.drop(columns="top picks").groupby("ranking", sort=False)[["spend_9w", "adopted_week"]].mean()
    )
    pooled["spend vs popular"] = pooled["spend_9w"] / pooled.loc["popular", "spend_9w"]
    pooled["adoption vs popular"] = pooled["adopted_week"] / pooled.loc["popular", "adopted_week"]
    print(table.to_string(index=False))
    print("\nmean over cutoffs:")
    print(pooled.to_string())


if __name__ == "__main__":
    main()
