"""What members actually pay for each item, and the margin left at that price. Pure: frames in, frames out.

The catalog's ``price`` is the regular shelf price and its ``margin_rate`` the gross margin rate (the
assumption of ``configs/margins.toml``, or the retailer's own costs). ``PriceParams.rate_basis`` says
what that rate is relative to: ``shelf`` (the default, as ``configs/margins.toml`` documents it): unit
cost = ``shelf x (1 - margin_rate)``, so the everyday loyalty discount too comes out of the margin;
``paid``: the rate is the realised margin at the everyday price members pay (as industry gross margins
are reported), unit cost = ``shelf x (1 - d_e) x (1 - margin_rate)``, so only deeper promotions eat it.

Members pay less than the shelf price: the loyalty card takes
``retail_disc`` off about half of Complete Journey's lines, and promoted items (on display or in the
mailer) more. Every discount comes out of the retailer's margin, so margins are computed at the price
paid:

    everyday discount  d_e = discount share of the regular value on the item's lines NOT on promotion
    promotion discount d_p = the same on its lines on promotion (display or mailer at that store)
    challenge week     s   = share of stores with the item promoted in the challenge week (calendar)
    price paid         p   = shelf x (1 - (s x d_p + (1 - s) x d_e))
    net margin rate        = (p - unit cost) / p            (negative: sold below cost)

Both shares are value-weighted (sum of discounts / sum of regular value) and shrunk towards the item's
department: ``d = (n x d_item + k x d_department) / (n + k)`` with ``n`` the item's lines and ``k``
``PriceParams.prior_lines``, so an item seen on promotion twice does not get an extreme depth. Only the
lines given are read: callers pass data cut at the cutoff (:meth:`Dataset.before_week`), so no price from
the challenge week or later enters.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from engine.config import StrictModel
from engine.data.schema import (
    DEPARTMENT,
    DISPLAY_SHARE,
    ITEM_ID,
    MAILER_SHARE,
    MARGIN_RATE,
    ON_PROMOTION,
    PRICE,
    PROMO_SHARE,
    QUANTITY,
    RETAIL_DISC,
    SALES_VALUE,
    WEEK,
)

#: Columns :func:`item_prices` adds to the catalog (besides replacing ``price`` and ``margin_rate``).
SHELF_PRICE = "shelf_price"
UNIT_COST = "unit_cost"
LOYALTY_DISCOUNT_SHARE = "loyalty_discount_share"
PROMO_DISCOUNT_SHARE = "promo_discount_share"
PROMO_STORE_SHARE = "promo_store_share"
PROMO_DISPLAY_SHARE = "promo_display_share"
PROMO_MAILER_SHARE = "promo_mailer_share"
PRICE_COLUMNS: tuple[str, ...] = (
    SHELF_PRICE,
    UNIT_COST,
    LOYALTY_DISCOUNT_SHARE,
    PROMO_DISCOUNT_SHARE,
    PROMO_STORE_SHARE,
    PROMO_DISPLAY_SHARE,
    PROMO_MAILER_SHARE,
)


class PriceParams(StrictModel):
    """How discount depths are estimated (``[prices]`` in ``configs/train.toml``)."""

    #: What the catalog's margin rates are relative to: the regular shelf price or the everyday price
    #: paid (shelf less the everyday loyalty discount); see the module docstring.
    rate_basis: Literal["shelf", "paid"] = "shelf"
    #: Pseudo-lines of the department's discount share added to an item's own lines (shrinkage).
    prior_lines: float = Field(default=20.0, ge=0)


def _discount_shares(
    tx: pd.DataFrame, department_of: pd.Series, items: pd.Index, prior_lines: float
) -> pd.Series:
    """Shrunk value-weighted discount share per item of ``items`` over the lines in ``tx``."""
    regular = tx[SALES_VALUE] + tx[RETAIL_DISC]
    frame = pd.DataFrame({ITEM_ID: tx[ITEM_ID], "disc": tx[RETAIL_DISC], "regular": regular})
    per_item = frame.groupby(ITEM_ID, sort=False).agg(
        disc=("disc", "sum"), regular=("regular", "sum"), n=("disc", "size")
    )
    per_item = per_item.reindex(items, fill_value=0)
    dept = department_of.reindex(items)
    per_dept = per_item.groupby(dept.to_numpy(), sort=False)[["disc", "regular"]].sum()
    overall = per_dept["disc"].sum() / per_dept["regular"].sum() if per_dept["regular"].sum() > 0 else 0.0
    dept_share = (per_dept["disc"] / per_dept["regular"].where(per_dept["regular"] > 0)).fillna(overall)
    prior = dept.map(dept_share).fillna(overall).to_numpy(dtype=np.float64)
    n = per_item["n"].to_numpy(dtype=np.float64)
    own = np.divide(
        per_item["disc"].to_numpy(dtype=np.float64),
        per_item["regular"].to_numpy(dtype=np.float64),
        out=np.zeros(len(items)),
        where=per_item["regular"].to_numpy() > 0,
    )
    weight = n + prior_lines
    shrunk = np.divide(n * own + prior_lines * prior, weight, out=prior.copy(), where=weight > 0)
    return pd.Series(shrunk, index=items)


def item_prices(
    transactions: pd.DataFrame,
    catalog: pd.DataFrame,
    promotions: pd.DataFrame | None,
    challenge_week: int,
    params: PriceParams,
) -> pd.DataFrame:
    """The catalog at the prices members pay in ``challenge_week``, with the parts of the price.

    Parameters
    ----------
    transactions
        Lines before the cutoff (``retail_disc`` and ``on_promotion`` absent read as 0 and False).
    catalog
        Canonical catalog: ``price`` the regular shelf price, ``margin_rate`` the gross margin on it.
    promotions
        The promotion calendar (:data:`~engine.data.schema.PROMOTION_COLUMNS`) or ``None``.
    challenge_week
        The week whose planned promotions set ``promo_store_share``.
    params
        Shrinkage of the discount shares.

    Returns
    -------
    pandas.DataFrame
        The catalog's rows and columns, with ``price`` the expected price paid in the challenge week and
        ``margin_rate`` the net margin rate at it (NaN when the price is unknown or not positive), plus
        :data:`PRICE_COLUMNS`: ``shelf_price``, ``unit_cost``, ``loyalty_discount_share`` (everyday),
        ``promo_discount_share`` (when promoted), ``promo_store_share`` (challenge week, 0 if none) and
        its parts ``promo_display_share`` and ``promo_mailer_share`` (on display, in the mailer).
    """
    tx = transactions
    disc = tx[RETAIL_DISC] if RETAIL_DISC in tx.columns else pd.Series(0.0, index=tx.index)
    promoted = tx[ON_PROMOTION] if ON_PROMOTION in tx.columns else pd.Series(False, index=tx.index)
    lines = pd.DataFrame(
        {
            ITEM_ID: tx[ITEM_ID],
            SALES_VALUE: tx[SALES_VALUE],
            RETAIL_DISC: disc.to_numpy(dtype=np.float64),
            QUANTITY: tx[QUANTITY],
        }
    )
    on_promo = promoted.to_numpy(dtype=bool)
    items = pd.Index(catalog[ITEM_ID])
    department_of = pd.Series(catalog[DEPARTMENT].to_numpy(), index=items)
    everyday = _discount_shares(lines[~on_promo], department_of, items, params.prior_lines)
    deep = _discount_shares(lines[on_promo], department_of, items, params.prior_lines)
    if on_promo.sum() == 0:
        deep = everyday  # no promotion ever seen: no evidence that one cuts deeper
    shares = pd.DataFrame(0.0, index=items, columns=[PROMO_SHARE, DISPLAY_SHARE, MAILER_SHARE])
    if promotions is not None and len(promotions):
        week = promotions[promotions[WEEK] == challenge_week]
        planned = week.groupby(ITEM_ID)[[PROMO_SHARE, DISPLAY_SHARE, MAILER_SHARE]].max()
        shares = planned.reindex(items, fill_value=0.0).clip(0.0, 1.0)
    share = shares[PROMO_SHARE]

    shelf = catalog[PRICE].to_numpy(dtype=np.float64)
    basis = shelf if params.rate_basis == "shelf" else shelf * (1.0 - everyday.to_numpy())
    unit_cost = basis * (1.0 - catalog[MARGIN_RATE].to_numpy(dtype=np.float64))
    s = share.to_numpy(dtype=np.float64)
    expected_discount = s * deep.to_numpy() + (1.0 - s) * everyday.to_numpy()
    price = shelf * (1.0 - expected_discount)
    safe = np.where(price > 0, price, np.nan)
    out = catalog.copy()
    out[PRICE] = price
    out[MARGIN_RATE] = (price - unit_cost) / safe
    out[SHELF_PRICE] = shelf
    out[UNIT_COST] = unit_cost
    out[LOYALTY_DISCOUNT_SHARE] = everyday.to_numpy()
    out[PROMO_DISCOUNT_SHARE] = deep.to_numpy()
    out[PROMO_STORE_SHARE] = s
    out[PROMO_DISPLAY_SHARE] = shares[DISPLAY_SHARE].to_numpy(dtype=np.float64)
    out[PROMO_MAILER_SHARE] = shares[MAILER_SHARE].to_numpy(dtype=np.float64)
    return out


def line_margins(transactions: pd.DataFrame, priced: pd.DataFrame) -> pd.Series:
    """Net margin of each transaction line: what the retailer received minus the units' cost.

    ``sales_value - quantity x unit_cost``, with ``unit_cost`` from :func:`item_prices`; NaN for an item
    without a cost.
    """
    cost = pd.Series(priced[UNIT_COST].to_numpy(dtype=np.float64), index=pd.Index(priced[ITEM_ID]))
    return transactions[SALES_VALUE] - transactions[QUANTITY] * transactions[ITEM_ID].map(cost)
