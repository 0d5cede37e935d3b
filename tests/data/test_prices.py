"""Prices members pay: everyday and promotion discount depths, the challenge week's promotions, margins."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from engine.data.prices import PRICE_COLUMNS, PriceParams, item_prices, line_margins

# item 1: shelf 10, 30% margin (cost 7); item 2: shelf 4, 25% (cost 3); item 3 never sold, dept E
CATALOG = pd.DataFrame(
    {
        "item_id": [1, 2, 3],
        "name": ["a", "b", "c"],
        "category": ["X", "X", "Z"],
        "department": ["D", "D", "E"],
        "price": [10.0, 4.0, 5.0],
        "margin_rate": [0.3, 0.25, 0.2],
        "excluded": [False, False, False],
    }
)
# item 1: two everyday lines with 1.00 off 10.00 (10%), one promoted line with 4.00 off (40%)
TX = pd.DataFrame(
    {
        "item_id": [1, 1, 1, 2],
        "week": [1, 2, 3, 3],
        "quantity": [1.0, 1.0, 1.0, 1.0],
        "sales_value": [9.0, 9.0, 6.0, 4.0],
        "retail_disc": [1.0, 1.0, 4.0, 0.0],
        "on_promotion": [False, False, True, False],
    }
)
# item 1 is promoted in half the stores in the challenge week 4 (and everywhere in week 5: not read)
PROMOTIONS = pd.DataFrame(
    {
        "item_id": [1, 1],
        "week": [4, 5],
        "promo_share": [0.5, 1.0],
        "display_share": [0.5, 1.0],
        "mailer_share": [0.0, 0.0],
    }
)


def test_price_paid_and_net_margin_without_shrinkage() -> None:
    out = item_prices(TX, CATALOG, PROMOTIONS, 4, PriceParams(prior_lines=0)).set_index("item_id")
    one = out.loc[1]
    assert one["loyalty_discount_share"] == pytest.approx(0.1)
    assert one["promo_discount_share"] == pytest.approx(0.4)
    assert one["promo_store_share"] == 0.5
    assert (one["promo_display_share"], one["promo_mailer_share"]) == (0.5, 0.0)
    # half the stores at 40% off, half at 10%: 25% off the 10.00 shelf price
    assert one["price"] == pytest.approx(7.5)
    assert one["margin_rate"] == pytest.approx((7.5 - 7.0) / 7.5)
    assert one["shelf_price"] == 10.0
    assert one["unit_cost"] == pytest.approx(7.0)
    two = out.loc[2]
    # never seen on promotion: its department's promotion depth (item 1's 40%), but not promoted now
    assert two["promo_discount_share"] == pytest.approx(0.4)
    assert (two["price"], two["margin_rate"]) == (4.0, pytest.approx(0.25))
    three = out.loc[3]
    # no line in its department: the depth over all lines
    assert three["loyalty_discount_share"] == pytest.approx(2.0 / 24.0)
    assert list(out.columns[-len(PRICE_COLUMNS) :]) == list(PRICE_COLUMNS)


def test_discount_shares_shrink_towards_the_department() -> None:
    out = item_prices(TX, CATALOG, None, 4, PriceParams(prior_lines=2)).set_index("item_id")
    department = 2.0 / 24.0  # everyday lines of D: 2.00 off 24.00
    assert out.loc[1, "loyalty_discount_share"] == pytest.approx((2 * 0.1 + 2 * department) / 4)
    assert out.loc[2, "loyalty_discount_share"] == pytest.approx((1 * 0.0 + 2 * department) / 3)
    # no calendar: nothing is promoted in the challenge week
    assert (out["promo_store_share"] == 0).all()


def test_no_promotion_ever_seen_means_no_deeper_discount() -> None:
    tx = TX.assign(on_promotion=False)
    out = item_prices(tx, CATALOG, None, 4, PriceParams(prior_lines=0))
    assert out["promo_discount_share"].tolist() == out["loyalty_discount_share"].tolist()


def test_sources_without_discounts_keep_shelf_prices_and_rates() -> None:
    tx = TX.drop(columns=["retail_disc", "on_promotion"])
    out = item_prices(tx, CATALOG, None, 4, PriceParams())
    assert out["price"].tolist() == CATALOG["price"].tolist()
    assert out["margin_rate"].to_numpy() == pytest.approx(CATALOG["margin_rate"].to_numpy())


def test_unknown_price_gives_unknown_margin() -> None:
    catalog = CATALOG.assign(price=[10.0, math.nan, 0.0])
    out = item_prices(TX, catalog, None, 4, PriceParams()).set_index("item_id")
    assert math.isnan(out.loc[2, "margin_rate"])
    assert math.isnan(out.loc[3, "margin_rate"])


def test_line_margins_are_receipts_less_cost() -> None:
    priced = item_prices(TX, CATALOG, None, 4, PriceParams())
    assert line_margins(TX, priced).tolist() == pytest.approx([2.0, 2.0, -1.0, 1.0])


def test_rates_relative_to_the_everyday_price_paid() -> None:
    paid = PriceParams(prior_lines=0, rate_basis="paid")
    out = item_prices(TX, CATALOG, None, 4, paid).set_index("item_id")
    # item 1: everyday price 9.00 (10% off), 30% realised margin there: cost 6.30
    assert out.loc[1, "unit_cost"] == pytest.approx(6.3)
    assert out.loc[1, "margin_rate"] == pytest.approx(0.3)
    shelf = item_prices(TX, CATALOG, None, 4, PriceParams(prior_lines=0)).set_index("item_id")
    assert shelf.loc[1, "margin_rate"] == pytest.approx((9.0 - 7.0) / 9.0)
