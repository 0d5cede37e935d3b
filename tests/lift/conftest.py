"""A tiny Complete Journey-layout folder with one campaign and a known, injected offer effect.

1,500 households, 8 categories x 8 products, weeks 1-30. Every household buys one habit product in each
of categories 0-3 (weekly probability about 27%, logit -1) and adopts categories 4-7 for the first time
at a weekly hazard of logit -3.5. One campaign (type A, weeks 16-21, pre window 10-15) goes to half of
the households; its narrow coupons cover categories 0-1 (habitual test) and 4-5 (stretch test).
Recipients sit higher throughout (+0.4 logit: targeting) and everyone rises in the campaign weeks
(+0.3: season), so a naive comparison is biased and only the difference in differences recovers the
injected ``beta`` (added to recipients' logit on coupon products in the campaign weeks).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.lift.config import LiftEstimateConfig, load_lift_estimate_config
from engine.lift.estimate import LiftEvidence, estimate_lifts
from engine.lift.sources import read_promotion_tables

ORIGIN = pd.Timestamp("2016-12-19")
WEEKS = 30
CAMPAIGN = (16, 21)
N_HOUSEHOLDS = 1500
N_CATS, PER_CAT = 8, 8
HABIT_CATS, STRETCH_CATS = (0, 1, 2, 3), (4, 5, 6, 7)
COUPON_CATS = (0, 1, 4, 5)
TARGETING, SEASON = 0.4, 0.3
PROMO_PRODUCTS, PROMO_STORES, PROMO_WEEKS = 2 * PER_CAT, (1, 2), np.arange(12, 28, 2)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _promoted(product_index: np.ndarray, store: np.ndarray, weeks: np.ndarray) -> np.ndarray:
    """Whether each (product, store) is promoted in each week (PROMO_PRODUCTS, PROMO_STORES, PROMO_WEEKS)."""
    on_product = (product_index < PROMO_PRODUCTS) & np.isin(store, PROMO_STORES)
    return on_product[:, None] & np.isin(weeks, PROMO_WEEKS)[None, :]


def write_cj_tables(
    folder: Path, beta_habitual: float, beta_stretch: float, beta_promotion: float = 0.0, seed: int = 3
) -> Path:
    """Write the seven tables to ``folder``; returns it.

    ``beta_promotion`` is added to the logit of a habit product in a week it is promoted at the
    household's store (stores 1-3 by household id; products of categories 0-1 at stores 1-2 in even
    weeks 12-26).
    """
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    households = np.arange(1, N_HOUSEHOLDS + 1)
    recipient = rng.random(N_HOUSEHOLDS) < 0.5
    weeks = np.arange(1, WEEKS + 1)
    in_campaign = (weeks >= CAMPAIGN[0]) & (weeks <= CAMPAIGN[1])
    product_ids = 1000 + np.arange(N_CATS * PER_CAT)
    rows: list[pd.DataFrame] = []
    # habitual: one habit product per household in each habit category
    for cat in HABIT_CATS:
        habit_index = cat * PER_CAT + rng.integers(0, PER_CAT, N_HOUSEHOLDS)
        habit = product_ids[habit_index]
        logit = -1.0 + TARGETING * recipient[:, None] + SEASON * in_campaign[None, :]
        logit = logit + beta_promotion * _promoted(habit_index, 1 + households % 3, weeks)
        if cat in COUPON_CATS:
            logit = logit + beta_habitual * (recipient[:, None] & in_campaign[None, :])
        hh_i, wk_i = np.nonzero(rng.random((N_HOUSEHOLDS, WEEKS)) < _sigmoid(logit))
        rows.append(
            pd.DataFrame({"household_id": households[hh_i], "product_id": habit[hh_i], "week": weeks[wk_i]})
        )
    # stretch: the first purchase of a never-bought category, then nothing more is needed
    for cat in STRETCH_CATS:
        logit = -3.5 + TARGETING * recipient[:, None] + SEASON * in_campaign[None, :]
        if cat in COUPON_CATS:
            logit = logit + beta_stretch * (recipient[:, None] & in_campaign[None, :])
        event = rng.random((N_HOUSEHOLDS, WEEKS)) < _sigmoid(logit)
        adopted = event.any(axis=1)
        first = event.argmax(axis=1)
        item = product_ids[cat * PER_CAT + rng.integers(0, PER_CAT, N_HOUSEHOLDS)]
        rows.append(
            pd.DataFrame(
                {
                    "household_id": households[adopted],
                    "product_id": item[adopted],
                    "week": weeks[first[adopted]],
                }
            )
        )
    tx = pd.concat(rows, ignore_index=True)
    n = len(tx)
    tx["store_id"] = 1 + tx["household_id"] % 3
    tx["quantity"] = 1
    tx["sales_value"] = 2.5
    tx["retail_disc"] = np.where(rng.random(n) < 0.5, 0.3, 0.0)
    tx["coupon_disc"] = 0.0
    tx["coupon_match_disc"] = 0.0
    tx["transaction_timestamp"] = (
        ORIGIN
        + pd.to_timedelta(7 * tx["week"] + 1, unit="D")
        + pd.to_timedelta(rng.integers(8, 20, n), unit="h")
    )
    voided = tx.iloc[:3].assign(quantity=0)  # voided scans: must be counted and left out
    pd.concat([tx, voided], ignore_index=True).to_parquet(folder / "transactions.parquet")
    pd.DataFrame(
        {
            "product_id": product_ids,
            "department": np.where(np.arange(product_ids.size) // PER_CAT < 4, "GROCERY", "PRODUCE"),
            "product_category": [f"CAT{i // PER_CAT}" for i in range(product_ids.size)],
        }
    ).to_parquet(folder / "products.parquet")
    pd.DataFrame(
        {
            "campaign_id": [1, 2],
            "campaign_type": ["Type A", "Type B"],
            "start_date": [
                ORIGIN + pd.Timedelta(days=7 * CAMPAIGN[0] + 2),
                ORIGIN + pd.Timedelta(days=7 * 2),
            ],
            "end_date": [ORIGIN + pd.Timedelta(days=7 * CAMPAIGN[1] + 3), ORIGIN + pd.Timedelta(days=7 * 4)],
        }
    ).to_parquet(folder / "campaign_descriptions.parquet")
    # campaign 2 starts too early to be judged (no history before its pre window)
    # campaign 2 went to every other household: the non-recipients of 1 among them are "targeted alike"
    receipts = [
        pd.DataFrame({"campaign_id": 1, "household_id": households[recipient]}),
        pd.DataFrame({"campaign_id": 2, "household_id": households[::2]}),
    ]
    pd.concat(receipts, ignore_index=True).to_parquet(folder / "campaigns.parquet")
    coupon_products = np.concatenate([product_ids[c * PER_CAT : (c + 1) * PER_CAT] for c in COUPON_CATS])
    pd.DataFrame(
        {
            "coupon_upc": 500 + np.arange(coupon_products.size) // 4,  # narrow coupons: 4 products each
            "product_id": coupon_products,
            "campaign_id": 1,
        }
    ).to_parquet(folder / "coupons.parquet")
    redeemers = households[recipient][:50]
    pd.DataFrame(
        {
            "household_id": redeemers,
            "coupon_upc": 500,
            "campaign_id": 1,
            "redemption_date": ORIGIN + pd.Timedelta(days=7 * 17 + 3),
        }
    ).to_parquet(folder / "coupon_redemptions.parquet")
    promo = pd.DataFrame(
        [
            {"product_id": p, "store_id": s, "display_location": "5", "mailer_location": "A", "week": w}
            for p in product_ids[:PROMO_PRODUCTS]
            for s in PROMO_STORES
            for w in PROMO_WEEKS
        ]
    )
    dup = promo[promo["week"] >= 20].assign(display_location="0")  # the week-37 quirk, in miniature
    pd.concat([promo, dup], ignore_index=True).to_parquet(folder / "promotions.parquet")
    return folder


@pytest.fixture(scope="session")
def cj_with_effect(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Injected beta 0.6 on habitual coupon products and 0.8 on first purchases of coupon categories."""
    return write_cj_tables(tmp_path_factory.mktemp("cj_effect"), 0.6, 0.8)


@pytest.fixture(scope="session")
def cj_without_effect(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same households and campaign, no campaign effect; in-store promotions lift by beta 0.5."""
    return write_cj_tables(tmp_path_factory.mktemp("cj_none"), 0.0, 0.0, beta_promotion=0.5)


@pytest.fixture(scope="session")
def small_config() -> LiftEstimateConfig:
    """The shipped config, sized for the tiny data: fewer resamples, 10 history weeks for promotions."""
    cfg = load_lift_estimate_config()
    return cfg.model_copy(
        update={
            "bootstrap_resamples": 200,
            "min_department_households": 50,
            "promotions": cfg.promotions.model_copy(update={"history_weeks": 10}),
        }
    )


def write_config(config: LiftEstimateConfig, path: Path) -> Path:
    """``config`` as a TOML file (for the CLI)."""
    lines = [
        f"{k} = {json.dumps(v)}"
        for k, v in config.model_dump(mode="json", exclude={"campaigns", "promotions", "priors"}).items()
        if v is not None
    ]
    for table in ("campaigns", "promotions"):
        lines += ["", f"[{table}]"] + [
            f"{k} = {json.dumps(v)}" for k, v in getattr(config, table).model_dump(mode="json").items()
        ]
    for kind, prior in config.priors.items():
        lines += ["", f"[priors.{kind}]"]
        for k, v in prior.model_dump(mode="json").items():
            lines.append(f"{k} = {v}" if k == "documented_on" else f"{k} = {json.dumps(v)}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="session")
def with_effect(cj_with_effect: Path, small_config: LiftEstimateConfig) -> LiftEvidence:
    """Every method's estimates on the data with an injected campaign effect."""
    return estimate_lifts(read_promotion_tables(cj_with_effect), small_config)


@pytest.fixture(scope="session")
def without_effect(cj_without_effect: Path, small_config: LiftEstimateConfig) -> LiftEvidence:
    """Every method's estimates on the data without a campaign effect."""
    return estimate_lifts(read_promotion_tables(cj_without_effect), small_config)
