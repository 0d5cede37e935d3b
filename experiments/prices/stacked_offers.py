"""Do issued challenges stack a reward on a promotion, or lean on margins members never pay? A check.

Reads an ``offers challenges --as-of WEEK --out FILE`` file and prices its picks as the engine now
does (:func:`engine.data.prices.item_prices`: the price members pay in WEEK, from the weeks before it,
and WEEK's planned promotions). For the issued challenges it counts:

- ``stacked``: a pick whose planned promotion in WEEK eats its margin (the ``promo_stacked`` rule of
  ``configs/rules.toml``: promoted in at least ``min_store_share`` of the stores, and less than
  ``refuse_when_margin_left_below`` of its shelf margin left at the promotion's expected discount);
- ``over_hard_guard``: the reward costs more than ``hard_guard.max_reward_share`` of the three picks'
  net margin at the price paid.

A file written before prices were net of discounts shows how many of its challenges these catch.

Run: ``.venv/bin/python experiments/prices/stacked_offers.py FILE --as-of WEEK [--rate-basis paid]``
"""

from __future__ import annotations

import argparse

import pandas as pd

from engine.candidates import Catalog
from engine.data.loaders import load_dataset
from engine.data.prices import PriceParams, item_prices
from engine.rules.config import load_rules
from engine.rules.eligibility import EligibilityIndex, promo_stacked

PICKS = ("habitual_1", "habitual_2", "stretch_product")


def main() -> None:
    """Print the counts for one challenges file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--as-of", type=int, required=True)
    parser.add_argument("--rate-basis", choices=["shelf", "paid"], default="shelf")
    args = parser.parse_args()

    data = load_dataset().before_week(args.as_of)
    params = PriceParams(rate_basis=args.rate_basis)
    priced = item_prices(data.transactions, data.catalog, data.promotions, args.as_of, params)
    catalog = Catalog.from_frame(priced)
    rules = load_rules()
    index = EligibilityIndex.from_rules(rules.eligibility)

    issued = pd.read_parquet(args.file)
    issued = issued[issued["status"] == "issued"]
    stacked = over = 0
    for row in issued.itertuples(index=False):
        items = [catalog.get(getattr(row, pick)) for pick in PICKS]
        if any(i is not None and promo_stacked(i, index) is not None for i in items):
            stacked += 1
        margin = sum(i.unit_margin for i in items if i is not None)
        if not row.reward_cost <= rules.hard_guard.max_reward_share * margin:
            over += 1
    print(
        f"{args.file} (as of {args.as_of}, rates on the {args.rate_basis} price): {len(issued)} issued; "
        f"stacked on a margin-eating promotion: {stacked} ({stacked / max(len(issued), 1):.1%}); "
        f"reward over the hard guard at the price paid: {over} ({over / max(len(issued), 1):.1%})"
    )


if __name__ == "__main__":
    main()
