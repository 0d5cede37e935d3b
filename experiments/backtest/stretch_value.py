"""Does weighting the model's stretch list by the value of the habit buy 9-week spend? Tuning weeks only.

For each cutoff ``c`` (with ``c + 8`` before the first reported cutoff, 30), a model is trained with the
shipped ``train.toml``, keeping each member's 40 likeliest stretch categories (no margin weighting);
before any rule, they are re-ranked by ``score x value ** a`` with ``value`` either

- the value the rules count: the suggested item's unit margin + the category's repeat margin
  (:mod:`engine.train.habit`), or
- the category's spend per recent adopter: mean spend in weeks ``c - 9 .. c - 1`` of the members who
  bought it then for the first time (everything read lies before ``c``).
For the top-1 of each ranking, over members active in the 8 weeks before ``c``, it prints the share
bought in week ``c`` and the mean spend in the category over weeks ``c .. c + 8``, against the raw
baseline (the most popular never-bought category) of the same members.

Run: ``.venv/bin/python experiments/backtest/stretch_value.py [--cutoffs 18,20,21]``
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from engine.backtest.raw import raw_stretch
from engine.candidates import Catalog
from engine.candidates.members import iter_member_candidates
from engine.data.loaders import load_dataset
from engine.data.schema import CATEGORY, ITEM_ID, MEMBER_ID, SALES_VALUE, WEEK
from engine.train.candidates import build_candidates
from engine.train.config import load_train_config

FIRST_BACKTEST_CUTOFF = 30
HORIZON = 9
ACTIVE_WEEKS = 8
POWERS = (0.0, 0.1, 0.25, 0.5, 1.0)


def main() -> None:
    """Train at each cutoff, re-rank the stretch lists, print adoption and spend against raw."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cutoffs", default="18,20,21")
    cutoffs = [int(c) for c in parser.parse_args().cutoffs.split(",")]
    if max(cutoffs) + HORIZON - 1 >= FIRST_BACKTEST_CUTOFF:
        parser.error(f"every cutoff + {HORIZON - 1} must be before {FIRST_BACKTEST_CUTOFF}")
    data = load_dataset()
    base = load_train_config()
    wide = base.candidates.model_copy(update={"k_stretch": 40, "stretch_margin_exponent": 0.0})
    config = base.model_copy(update={"progress": False, "candidates": wide})
    lines = data.transactions.join(data.catalog.set_index(ITEM_ID)[[CATEGORY]], on=ITEM_ID)
    rows = []
    for c in cutoffs:
        artifact = build_candidates(data, c, config)
        catalog = Catalog.from_artifact(artifact)
        future = lines[(lines[WEEK] >= c) & (lines[WEEK] < c + HORIZON)]
        spend = future.groupby([MEMBER_ID, CATEGORY])[SALES_VALUE].sum()
        now = set(
            zip(
                future.loc[future[WEEK] == c, MEMBER_ID], future.loc[future[WEEK] == c, CATEGORY], strict=True
            )
        )
        past = data.transactions[data.transactions[WEEK] < c]
        active = set(past.loc[past[WEEK] >= c - ACTIVE_WEEKS, MEMBER_ID])
        raw = raw_stretch(past, data.catalog, c, config.features.popularity_weeks).set_index(MEMBER_ID)
        old = lines[lines[WEEK] < c - HORIZON][[MEMBER_ID, CATEGORY]].drop_duplicates()
        recent = lines[(lines[WEEK] >= c - HORIZON) & (lines[WEEK] < c)]
        shoppers_old = set(lines.loc[lines[WEEK] < c - HORIZON, MEMBER_ID])
        rs = recent.groupby([MEMBER_ID, CATEGORY])[SALES_VALUE].sum().reset_index()
        rs = rs[rs[MEMBER_ID].isin(shoppers_old)]
        rs = rs.merge(old.assign(_old=True), on=[MEMBER_ID, CATEGORY], how="left")
        per_adopter = rs[rs["_old"].isna()].groupby(CATEGORY)[SALES_VALUE].mean()
        for member in iter_member_candidates(artifact):
            m = member.member_id
            if (
                m not in active
                or not member.stretch
                or m not in raw.index
                or pd.isna(raw.at[m, "stretch_category"])
            ):
                continue
            row: dict[str, object] = {"cutoff": c}
            base = str(raw.at[m, "stretch_category"])
            row["raw spend"] = float(spend.get((m, base), 0.0))
            row["raw adopted"] = (m, base) in now
            for power in POWERS:
                values = []
                for cand in member.stretch:
                    item = catalog.get(cand.suggested_item_id)
                    value = 0.0 if item is None else max(item.unit_margin, 0.0) + max(item.repeat_margin, 0.0)
                    values.append(cand.score * value**power if value > 0 else 0.0)
                top = member.stretch[int(np.argmax(values))].category
                row[f"a={power:g} spend"] = float(spend.get((m, top), 0.0))
                row[f"a={power:g} adopted"] = (m, top) in now
            for power in POWERS:
                values = [
                    cand.score * float(per_adopter.get(cand.category, 0.0)) ** power
                    for cand in member.stretch
                ]
                top = member.stretch[int(np.argmax(values))].category
                row[f"b={power:g} spend"] = float(spend.get((m, top), 0.0))
                row[f"b={power:g} adopted"] = (m, top) in now
            rows.append(row)
    table = pd.DataFrame(rows)
    print(f"{len(table):,} member-weeks over cutoffs {cutoffs}")
    print(f"raw: spend {table['raw spend'].mean():.4f}, adopted {table['raw adopted'].mean():.4f}")
    for power in POWERS:
        s, a = table[f"b={power:g} spend"].mean(), table[f"b={power:g} adopted"].mean()
        print(
            f"score x spend per adopter^{power:g}: spend {s:.4f} ({s / table['raw spend'].mean():.3f}x), "
            f"adopted {a:.4f} ({a / table['raw adopted'].mean():.3f}x)"
        )
    for power in POWERS:
        s, a = table[f"a={power:g} spend"].mean(), table[f"a={power:g} adopted"].mean()
        print(
            f"score x value^{power:g}: spend {s:.4f} ({s / table['raw spend'].mean():.3f}x), "
            f"adopted {a:.4f} ({a / table['raw adopted'].mean():.3f}x)"
        )


if __name__ == "__main__":
    main()
