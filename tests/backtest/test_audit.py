"""The re-check of issued challenges: a clean challenge passes, and each broken rule is named."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from engine.backtest.audit import PurchaseHistory, audit_batch, audit_challenge
from engine.candidates import Catalog
from engine.challenge import Challenge
from engine.rules.config import RulesConfig, load_rules
from tests.backtest.conftest import make_transactions

WEEK = 10

# Catalog (conftest): 1 milk DAIRY 2.0 x 50%, 2 bread BAKERY 3.0 x 40%, 3 salad PRODUCE 4.0 x 50%,
# 4 cheese DAIRY, 5 sushi DELI 10.0 x 30%, 6 fuel FUEL (excluded), 7 apple PRODUCE, 8 cake BAKERY.
# Milk + bread + salad margins: 1.0 + 1.2 + 2.0 = 4.2; the shipped hard guard allows half: 2.1.


def _pick(catalog: pd.DataFrame, item_id: int) -> dict[str, Any]:
    row = catalog.set_index("item_id").loc[item_id]
    return {
        "item_id": item_id,
        "name": row["name"],
        "category": row["category"],
        "price": row["price"],
        "margin": row["price"] * row["margin_rate"],
        "p_base": 0.3,
        "p_offer": 0.35,
    }


def _challenge(
    catalog: pd.DataFrame,
    habitual: tuple[int, int] = (1, 2),
    stretch: tuple[str, int] = ("PRODUCE", 3),
    reward: float = 0.5,
    member: int = 1,
) -> Challenge:
    category, item = stretch
    return Challenge.model_validate(
        {
            "member_id": member,
            "week": WEEK,
            "tier": "bronze",
            "status": "issued",
            "reason_code": "issued",
            "reason": "all rules passed",
            "habitual": [_pick(catalog, habitual[0]), _pick(catalog, habitual[1])],
            "stretch": {**_pick(catalog, item), "category": category},
            "reward": {"stars": 25, "cash_cost": reward},
            "expected_cost": 0.01,
            "expected_profit": 0.1,
            "p_complete": 0.04,
            "explanation": {"picks": [], "arithmetic": "", "rules": []},
            "model_version": "test",
            "rules_version": "test",
        }
    )


@pytest.fixture
def rules() -> RulesConfig:
    return load_rules()


@pytest.fixture
def history(catalog: pd.DataFrame) -> PurchaseHistory:
    # member 1 bought milk and bread before the week, and sushi (DELI); member 2 salad; week 10 is late
    tx = make_transactions(
        [(1, 1, 1, 5, 2.0), (1, 2, 1, 5, 3.0), (1, 5, 2, 7, 10.0), (2, 3, 3, 6, 4.0), (1, 3, 4, WEEK, 4.0)]
    )
    return PurchaseHistory.before(tx, catalog, WEEK, items=[1, 2, 3])


def _rules_fired(
    challenge: Challenge, catalog: pd.DataFrame, rules: RulesConfig, history: PurchaseHistory
) -> list[str]:
    return [v.rule for v in audit_challenge(challenge, Catalog.from_frame(catalog), rules, history)]


def test_a_clean_challenge_passes(
    catalog: pd.DataFrame, rules: RulesConfig, history: PurchaseHistory
) -> None:
    # salad bought by member 1 only in week 10, which is not before the challenge week
    assert _rules_fired(_challenge(catalog), catalog, rules, history) == []


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ({"reward": 2.5}, "hard_guard"),  # 2.5 > 2.1
        ({"habitual": (1, 6)}, "excluded"),  # fuel
        ({"habitual": (1, 1)}, "habitual_not_distinct"),
        ({"stretch": ("DELI", 5)}, "stretch_already_bought"),
        ({"stretch": ("PRODUCE", 5)}, "stretch_product"),  # sushi is not produce
        ({"stretch": ("DAIRY", 4)}, "stretch_not_new"),  # milk is dairy
        ({"stretch": ("FUEL", 6)}, "stretch_excluded"),
    ],
)
def test_each_broken_rule_is_named(
    change: dict[str, Any], rule: str, catalog: pd.DataFrame, rules: RulesConfig, history: PurchaseHistory
) -> None:
    assert rule in _rules_fired(_challenge(catalog, **change), catalog, rules, history)


def test_the_guard_reads_the_catalog_not_the_challenges_own_margins(
    catalog: pd.DataFrame, rules: RulesConfig, history: PurchaseHistory
) -> None:
    # the challenge claims rich margins; the catalog it was priced with says salad earns 0.2, not 2.0
    cheap = catalog.assign(margin_rate=catalog["margin_rate"].where(catalog["item_id"] != 3, 0.05))
    challenge = _challenge(catalog, reward=1.5)
    assert _rules_fired(challenge, catalog, rules, history) == []
    assert _rules_fired(challenge, cheap, rules, history) == ["hard_guard"]


def test_unknown_items_and_no_offers(
    catalog: pd.DataFrame, rules: RulesConfig, history: PurchaseHistory
) -> None:
    small = catalog[catalog["item_id"] != 2]
    assert "unknown_item" in _rules_fired(_challenge(catalog), small, rules, history)
    refused = _challenge(catalog).model_copy(update={"status": "no_offer"})
    assert _rules_fired(refused, catalog, rules, history) == []


def test_batch_frame(catalog: pd.DataFrame, rules: RulesConfig, history: PurchaseHistory) -> None:
    # member 2 bought salad before the week, and the reward is too rich: two findings, one challenge
    batch = [_challenge(catalog), _challenge(catalog, reward=2.5, member=2)]
    frame = audit_batch(batch, Catalog.from_frame(catalog), rules, history)
    assert frame[["member_id", "week", "rule"]].values.tolist() == [
        [2, WEEK, "stretch_already_bought"],
        [2, WEEK, "hard_guard"],
    ]
    assert "exceeds" in frame.loc[1, "detail"]
    empty = audit_batch(batch[:1], Catalog.from_frame(catalog), rules, history)
    assert list(empty.columns) == ["member_id", "week", "rule", "detail"]
    assert empty.empty


def test_a_durable_bought_recently_is_found(
    catalog: pd.DataFrame, rules: RulesConfig, history: PurchaseHistory
) -> None:
    # bread as a durable: member 1 bought it in week 5, within the shipped 26 weeks of week 10
    durable = catalog.assign(department=catalog["department"].where(catalog["item_id"] != 2, "HOUSEWARES"))
    assert _rules_fired(_challenge(catalog), durable, rules, history) == ["durable_recency"]
