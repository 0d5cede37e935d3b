"""Where the issued stretch category leaves the model's rank-1: which rule, or the search? Tuning weeks only.

For each challenge week (before the first reported cutoff, 30), a model is trained with the shipped
``train.toml`` and the week's challenges assembled with the shipped rules. Over the issued challenges it
prints the rank of the issued stretch category in the member's list, the share of members who bought
in the issued category and in their rank-1 in the challenge week, and why the rank-1 was not issued:

- the rule that removes its suggested product (``promo_stacked``, ``min_margin_rate``, ...);
- ``alone: <reason>`` when the rank-1 is eligible but no challenge passes the guards with it;
- ``ranking: score`` / ``ranking: more stars`` when a challenge with it passes, and another combination
  ranked higher (by ``P(complete) x stretch value ^ exponent``, or by the reward it carries).

Run: ``.venv/bin/python experiments/backtest/stretch_rules.py --weeks 20,26``
"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import replace

from engine.candidates import Catalog, MemberCandidates
from engine.candidates.members import iter_member_candidates
from engine.challenge import Challenge, assemble_challenge
from engine.data.loaders import load_dataset
from engine.data.schema import CATEGORY, ITEM_ID, MEMBER_ID, WEEK
from engine.rules.config import RulesConfig, load_rules
from engine.rules.eligibility import eligibility_index, item_block
from engine.train.candidates import build_candidates
from engine.train.config import load_train_config

FIRST_BACKTEST_CUTOFF = 30


def _why_not_rank1(
    member: MemberCandidates, issued: Challenge, catalog: Catalog, rules: RulesConfig, week: int
) -> str:
    item = catalog.get(member.stretch[0].suggested_item_id)
    if item is None:
        return "unknown_item"
    block = item_block(item, eligibility_index(rules.eligibility))
    if block is not None:
        return block[0]
    alone = assemble_challenge(
        replace(member, stretch=member.stretch[:1]),
        catalog,
        rules,
        week,
        model_version="m",
        rules_version="r",
    )
    if alone.status != "issued" or alone.reward is None or issued.reward is None:
        return f"alone: {(alone.reason or '').split(':')[0]}"
    return "ranking: more stars" if issued.reward.stars > alone.reward.stars else "ranking: score"


def main() -> None:
    """Train at each week, assemble with the shipped rules, print where the stretch pick comes from."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", default="20,26", help="challenge weeks, all before 30")
    weeks = [int(w) for w in parser.parse_args().weeks.split(",")]
    if max(weeks) >= FIRST_BACKTEST_CUTOFF:
        parser.error(f"tuning weeks only: every week must be before {FIRST_BACKTEST_CUTOFF}")
    data = load_dataset()
    config = load_train_config().model_copy(update={"progress": False})
    rules = load_rules()
    tx = data.transactions
    for week in weeks:
        artifact = build_candidates(data, week, config)
        catalog = Catalog.from_artifact(artifact)
        now = tx[tx[WEEK] == week][[MEMBER_ID, ITEM_ID]].merge(data.catalog[[ITEM_ID, CATEGORY]], on=ITEM_ID)
        bought = set(zip(now[MEMBER_ID], now[CATEGORY], strict=True))
        ranks, why = Counter[int](), Counter[str]()
        issued = chosen = first = 0
        for member in iter_member_candidates(artifact):
            c = assemble_challenge(member, catalog, rules, week, model_version="m", rules_version="r")
            if c.status != "issued" or c.stretch is None or not member.stretch:
                continue
            order = [s.category for s in member.stretch]
            issued += 1
            chosen += (member.member_id, c.stretch.category) in bought
            first += (member.member_id, order[0]) in bought
            rank = order.index(c.stretch.category) + 1 if c.stretch.category in order else 0
            ranks[rank] += 1
            if rank != 1:
                why[_why_not_rank1(member, c, catalog, rules, week)] += 1
        print(
            f"\n== challenge week {week}: {issued:,} issued with a stretch category; adopted: issued "
            f"{chosen / issued:.4f}, model's rank-1 {first / issued:.4f}"
        )
        print("   rank of the issued category (0: not in the list): " + str(sorted(ranks.items())))
        print("   why not the rank-1: " + ", ".join(f"{k} {v}" for k, v in why.most_common()))


if __name__ == "__main__":
    main()
