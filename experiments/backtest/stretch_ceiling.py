"""How much could forecasting seasonality add to stretch adoption? A check on the tuning weeks.

The backtest's stretch bar asks the model for 1.2x the adoption of "popularity among non-buyers". This
script measures, on challenge weeks before every backtest cutoff (tuning weeks only), the top-1
adoption of members who shopped in the week:

- ``popularity``: each member's never-bought category with the highest adoption hazard (the baseline);
- ``oracle_category``: the category with the highest adoption rate *in the week itself* among the
  other members who could adopt it (leave-one-out, so a member's own purchase does not rank it;
  shrunk towards the hazard by ``PRIOR_WEIGHT`` member-weeks). No real ranking can know this: it
  shows about what a perfect forecast of this week's category rates (seasons, trends) would add over
  popularity. Whatever the bar asks beyond that has to come from personal signals.

Run: ``.venv/bin/python experiments/backtest/stretch_ceiling.py [--weeks 22,23,...]``
"""

from __future__ import annotations

import argparse

import pandas as pd

from engine.data.config import load_data_config
from engine.data.loaders import load_dataset
from engine.data.schema import WEEK
from engine.train.categories import category_stats
from engine.train.config import load_train_config
from engine.train.history import CATEGORY_IDX, MEMBER_IDX, History
from engine.train.pairs import LABEL, with_labels
from engine.train.stretch import stretch_pairs

FIRST_BACKTEST_CUTOFF = 30
#: Member-weeks of "prior" at the popularity hazard added to each category's in-week rate.
PRIOR_WEIGHT = 20.0


def top1(pairs: pd.DataFrame, column: str) -> float:
    """Share of members whose highest-``column`` pair was bought."""
    ordered = pairs.sort_values([MEMBER_IDX, column], ascending=[True, False], kind="stable")
    return float(ordered.groupby(MEMBER_IDX, sort=False).head(1)[LABEL].mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", default="22,23,24,25,26,27,28,29", help="challenge weeks (< 30)")
    weeks = [int(w) for w in parser.parse_args().weeks.split(",")]
    if max(weeks) >= FIRST_BACKTEST_CUTOFF:
        raise SystemExit(f"--weeks must stay before the first backtest cutoff {FIRST_BACKTEST_CUTOFF}")
    data = load_dataset(load_data_config()).before_week(max(weeks) + 1)
    features = load_train_config().features
    history = History.build(data.transactions, data.catalog)
    rows = []
    for week in weeks:
        stats = category_stats(history, week, features)
        pairs = stretch_pairs(history, week, features, stats)
        _, bought = history.bought_in_week(week)
        pairs = with_labels(pairs, bought, CATEGORY_IDX)
        mw = history.member_week
        shoppers = mw.loc[mw[WEEK].to_numpy() == week, MEMBER_IDX].unique()
        pairs = pairs[pairs[MEMBER_IDX].isin(shoppers)]
        group = pairs.groupby(CATEGORY_IDX)[LABEL]
        # leave-one-out, shrunk towards the hazard so that a category with three non-buyers does not
        # rank first because one of them bought it
        adopted_others = group.transform("sum") - pairs[LABEL]
        others = group.transform("size") - 1
        oracle = (adopted_others + PRIOR_WEIGHT * pairs["adoption_rate"]) / (others + PRIOR_WEIGHT)
        rows.append(
            {
                "week": week,
                "members": pairs[MEMBER_IDX].nunique(),
                "popularity": top1(pairs, "adoption_rate"),
                "oracle_category": top1(pairs.assign(oracle=oracle), "oracle"),
            }
        )
    table = pd.DataFrame(rows).set_index("week")
    mean = table.mean()
    print(table.round(4).to_string())
    print(
        f"mean: popularity {mean['popularity']:.4f}, oracle_category {mean['oracle_category']:.4f} "
        f"(ratio {mean['oracle_category'] / mean['popularity']:.3f}; the bar asks 1.2)"
    )


if __name__ == "__main__":
    main()
