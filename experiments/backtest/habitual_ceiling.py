"""Can any simple ranking beat "each member's two most-bought products"? A check on the tuning weeks.

The habitual bar of issue 11 asks the issued habitual picks for at least 1.0x the hit rate of the raw
top-2 (most baskets before the cutoff). The issued picks must pass the rules first (margin floor,
promotion stacking, durables, the hard guard), so they can only reach the bar if some ranking beats
the raw top-2 by at least what the rules take away. This script measures, on challenge weeks before
the first reported cutoff (tuning weeks only), the share of top-2 picks bought in the week for members
active in the 8 weeks before it, with no rules at all, for:

- ``raw``: most baskets, ties to the later week (the baseline);
- ``recency tau``: sum over the weeks the item was bought of exp(-age / tau);
- ``last 8 / last 13``: weeks bought in the last 8 or 13 weeks, ties by baskets;
- ``mailer a``: baskets x (1 + a x the share of stores with the item in the challenge week's mailer)
  (the promotion calendar is known in advance).

Run: ``.venv/bin/python experiments/backtest/habitual_ceiling.py [--weeks 20,21,...]``
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from engine.data.loaders import load_dataset
from engine.data.schema import BASKET_ID, ITEM_ID, MEMBER_ID, WEEK

FIRST_BACKTEST_CUTOFF = 30
ACTIVE_WEEKS = 8
TAUS = (4.0, 8.0, 16.0)
WINDOWS = (8, 13)
MAILER_WEIGHTS = (0.25, 0.5, 1.0)


def _item_history(transactions: pd.DataFrame, week: int) -> pd.DataFrame:
    """Per (member, item) before ``week``: baskets, last week, recency sums and recent weeks."""
    past = transactions[transactions[WEEK] < week]
    out = past.groupby([MEMBER_ID, ITEM_ID], sort=False).agg(
        n_baskets=(BASKET_ID, "nunique"), last_week=(WEEK, "max")
    )
    weeks = past[[MEMBER_ID, ITEM_ID, WEEK]].drop_duplicates()
    age = (week - 1 - weeks[WEEK]).astype("float64")
    keys = [weeks[MEMBER_ID], weeks[ITEM_ID]]
    for tau in TAUS:
        out[f"recency {tau:g}"] = np.exp(-age / tau).groupby(keys).sum()
    for span in WINDOWS:
        out[f"last {span}"] = (age < span).astype("float64").groupby(keys).sum()
    active = past.loc[past[WEEK] >= week - ACTIVE_WEEKS, MEMBER_ID].unique()
    out = out.reset_index()
    return out[out[MEMBER_ID].isin(active)].reset_index(drop=True)


def _top2_hit_rate(frame: pd.DataFrame, score: pd.Series, bought: pd.Series) -> float:
    """Share of each member's two highest-``score`` items that were bought (ties: later week, id)."""
    ranked = frame.assign(_score=score, _hit=bought).sort_values(
        [MEMBER_ID, "_score", "last_week", ITEM_ID], ascending=[True, False, False, True], kind="mergesort"
    )
    return float(ranked.groupby(MEMBER_ID, sort=False).head(2)["_hit"].mean())


def scores(frame: pd.DataFrame, mailer: pd.Series) -> dict[str, pd.Series]:
    """The rankings compared, each a score per row of the item-history frame."""
    out: dict[str, pd.Series] = {"raw": frame["n_baskets"].astype("float64")}
    for tau in TAUS:
        out[f"recency {tau:g}"] = frame[f"recency {tau:g}"]
    for span in WINDOWS:
        out[f"last {span}"] = frame[f"last {span}"] + frame["n_baskets"] / 1e6
    on_mailer = frame[ITEM_ID].map(mailer).fillna(0.0)
    for weight in MAILER_WEIGHTS:
        out[f"mailer {weight:g}"] = frame["n_baskets"] * (1.0 + weight * on_mailer)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="habitual ranking ceiling on the tuning weeks")
    parser.add_argument("--weeks", default=",".join(str(w) for w in range(20, FIRST_BACKTEST_CUTOFF)))
    weeks = [int(w) for w in parser.parse_args().weeks.split(",")]
    if max(weeks) >= FIRST_BACKTEST_CUTOFF:
        parser.error(f"tuning weeks only: every week must be below {FIRST_BACKTEST_CUTOFF}")
    dataset = load_dataset()
    transactions = dataset.transactions[[MEMBER_ID, ITEM_ID, WEEK, BASKET_ID]]
    promotions = dataset.promotions
    if promotions is None:
        parser.error("the mailer rankings need the promotion calendar: the dataset has none")
    rates: dict[str, list[float]] = {}
    for week in weeks:
        frame = _item_history(transactions, week)
        in_week = transactions.loc[transactions[WEEK] == week, [MEMBER_ID, ITEM_ID]].drop_duplicates()
        bought = pd.Series(
            pd.MultiIndex.from_frame(frame[[MEMBER_ID, ITEM_ID]]).isin(pd.MultiIndex.from_frame(in_week)),
            index=frame.index,
        ).astype("float64")
        calendar = promotions[promotions[WEEK] == week].set_index(ITEM_ID)["mailer_share"]
        for name, score in scores(frame, calendar).items():
            rates.setdefault(name, []).append(_top2_hit_rate(frame, score, bought))
    base = float(np.mean(rates["raw"]))
    print(f"top-2 hit rate, weeks {weeks[0]}-{weeks[-1]}, members active in the {ACTIVE_WEEKS} weeks before")
    print(f"{'ranking':<14}{'hit rate':>10}{'vs raw':>9}")
    for name, values in rates.items():
        print(f"{name:<14}{np.mean(values):>10.4f}{np.mean(values) / base:>8.3f}x")


if __name__ == "__main__":
    main()
