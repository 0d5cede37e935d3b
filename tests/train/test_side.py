"""Side features (demographics, promotions, discounts, coupons) and repurchase cycles on hand-made data."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from engine.data.schema import Dataset
from engine.data.signals import NO_SIGNALS, Signals
from engine.data.tiers import load_tiers_config
from engine.train.categories import category_stats
from engine.train.config import CandidateParams, FeatureParams, SignalParams, TrainConfig
from engine.train.cutoffs import CutoffBuilder
from engine.train.features import member_features
from engine.train.groups import habitual_features, stretch_features
from engine.train.history import CATEGORY_IDX, ITEM_IDX, MEMBER_IDX, History
from engine.train.model import LightFMModel
from engine.train.pairs import habitual_pairs
from engine.train.ranker import Ranker
from engine.train.side import SideTables, load_signals
from engine.train.stretch import concat_blocks, stretch_pairs

WEEK = 5


def _signals(
    promo_weeks: dict[int, float], discount_weeks: dict[int, float], coupon_weeks: list[int]
) -> Signals:
    """Member 1 answered the survey, member 2 left income blank, member 3 is absent; item 1 (milk) and
    item 5 (cake) are promoted in the given weeks with the given display share; member 1 saved the given
    amount on milk in the given weeks and redeemed a coupon in each of ``coupon_weeks``."""
    demographics = pd.DataFrame(
        {
            "member_id": [1, 2],
            "age": ["45-54", "25-34"],
            "income": ["Under 15K", None],
            "household_size": ["5+", "1"],
            "kids_count": ["3+", "0"],
        }
    )
    promotions = pd.DataFrame(
        [(item, w, share, 0.0) for item in (1, 5) for w, share in promo_weeks.items()],
        columns=["item_id", "week", "display_share", "mailer_share"],
    )
    discounts = pd.DataFrame(
        [(1, 1, w, 2.0, d) for w, d in discount_weeks.items()],
        columns=["member_id", "item_id", "week", "sales_value", "discount"],
    )
    coupons = pd.DataFrame({"member_id": 1, "week": coupon_weeks, "redemptions": 1})
    return Signals(demographics, promotions, discounts, coupons, "hand-built")


BEFORE = _signals({3: 0.5, 5: 1.0}, {1: 2.0, 2: 0.0, 4: 2.0}, [2, 4])
#: The same up to the cutoff week 5: only what a cutoff at week 5 must not read differs.
LATER_CHANGED = _signals({3: 0.5, 5: 1.0, 6: 0.9}, {1: 2.0, 2: 0.0, 4: 2.0, 5: 50.0, 6: 9.0}, [2, 4, 5, 6])


def _pairs(dataset: Dataset, signals: Signals) -> tuple[pd.DataFrame, pd.DataFrame, History]:
    data = dataset.before_week(WEEK)
    history = History.build(data.transactions, data.catalog)
    features = FeatureParams(popularity_weeks=4)
    side = SideTables.build(signals, history).at(WEEK, features)
    hab = habitual_pairs(history, WEEK, features, CandidateParams(), side)
    st = stretch_pairs(history, WEEK, features, category_stats(history, WEEK, features), side)
    return hab, st, history


def test_side_features_read_nothing_after_the_cutoff(tiny_dataset: Dataset) -> None:
    hab, st, _ = _pairs(tiny_dataset, BEFORE)
    hab_later, st_later, _ = _pairs(tiny_dataset, LATER_CHANGED)
    pd.testing.assert_frame_equal(hab, hab_later)
    pd.testing.assert_frame_equal(st, st_later)


def test_the_challenge_weeks_promotions_are_read(tiny_dataset: Dataset) -> None:
    hab, _, history = _pairs(tiny_dataset, BEFORE)
    moved, _, _ = _pairs(tiny_dataset, _signals({3: 0.5, 5: 0.2}, {1: 2.0, 2: 0.0, 4: 2.0}, [2, 4]))
    milk = history.items.to_idx([1])[0]
    assert hab.loc[hab[ITEM_IDX] == milk, "item_display"].tolist() == [1.0]
    assert moved.loc[moved[ITEM_IDX] == milk, "item_display"].tolist() == [0.2]


def test_discounts_and_coupons_before_the_cutoff(tiny_dataset: Dataset) -> None:
    hab, _, history = _pairs(tiny_dataset, BEFORE)
    m1, milk = history.members.to_idx([1])[0], history.items.to_idx([1])[0]
    row = hab[(hab[MEMBER_IDX] == m1) & (hab[ITEM_IDX] == milk)].iloc[0]
    assert row["discount_share"] == pytest.approx(4.0 / 10.0)  # saved 4 of 6 paid + 4 saved
    assert row["item_disc_share"] == pytest.approx(0.4)
    assert row["coupon_redemptions"] == 2
    assert row["item_promo_prior"] == pytest.approx(0.5 / 4)  # week 3 of the 4 weeks before 5
    assert row["promo_x_disc"] == pytest.approx(1.0 * 0.4)


def test_demographics_unknown_is_explicit(tiny_dataset: Dataset) -> None:
    _, st, history = _pairs(tiny_dataset, BEFORE)
    by_member = st.groupby(MEMBER_IDX).first()
    m1, m2, m3 = history.members.to_idx([1, 2, 3])
    # levels in order of their first number: age 25-34 < 45-54, household size 1 < 5+, kids 0 < 3+
    assert by_member.loc[m1, ["age", "income", "household_size", "kids_count", "demo_known"]].tolist() == [
        1,
        0,  # "Under 15K", the only income given
        1,
        1,
        1,
    ]
    assert by_member.loc[m2, "income"] == -1  # a blank answer stays unknown
    assert by_member.loc[m3, ["age", "income", "demo_known"]].tolist() == [-1, -1, 0]


def test_demographics_as_lightfm_member_features(tiny_dataset: Dataset) -> None:
    history = History.build(tiny_dataset.transactions, tiny_dataset.catalog)
    demo = SideTables.build(BEFORE, history).demographics
    one_hot = demo.one_hot().toarray()
    # per attribute its levels plus "unknown": age 2 + 1, income 1 + 1, size 2 + 1, kids 2 + 1
    assert one_hot.shape == (3, 11)
    m2, m3 = history.members.to_idx([2, 3])
    assert one_hot[m3, [2, 4, 7, 10]].tolist() == [0.25] * 4  # member 3: unknown everywhere
    assert one_hot[m2, [0, 4, 5, 8]].tolist() == [0.25] * 4  # member 2: income unknown
    users = member_features(
        np.zeros(3, dtype=np.int64), np.array([0]), np.array([0]), np.array([1.0]), 1, demo.one_hot()
    )
    assert np.asarray(users.sum(axis=1)).ravel() == pytest.approx(np.ones(3))


def test_without_side_tables_features_are_unknown_or_zero(tiny_dataset: Dataset) -> None:
    hab, st, _ = _pairs(tiny_dataset, NO_SIGNALS)
    # Every member is in the one "unknown" level: no demographic lift anywhere.
    assert st["demo_lift"].to_numpy() == pytest.approx(np.zeros(len(st)))
    assert (hab[["item_display", "discount_share", "coupon_redemptions", "item_disc_share"]] == 0).all().all()
    assert (hab["age"] == -1).all()
    assert (st["demo_known"] == 0).all()
    assert (st[["cat_display", "suggested_promo"]] == 0).all().all()


def test_demo_lift_favours_what_a_members_level_buys(tiny_dataset: Dataset) -> None:
    _, st, history = _pairs(tiny_dataset, BEFORE)
    # Before week 5 only member 3 (age unknown) bought cake; member 1 (45-54) never did, so for member 1
    # cake's lift is below 0: its levels bought less of it than everyone did.
    m1 = history.members.to_idx([1])[0]
    cake = history.categories.to_idx(["CAKE"])[0]
    assert st.loc[(st[MEMBER_IDX] == m1) & (st[CATEGORY_IDX] == cake), "demo_lift"].item() < 0


def test_repurchase_cycle_features(tiny_dataset: Dataset) -> None:
    hab, _, history = _pairs(tiny_dataset, NO_SIGNALS)
    m1, milk = history.members.to_idx([1])[0], history.items.to_idx([1])[0]
    row = hab[(hab[MEMBER_IDX] == m1) & (hab[ITEM_IDX] == milk)].iloc[0]
    # milk in weeks 1, 2, 4: gaps 1 and 2
    assert row["item_gap"] == pytest.approx(1.5)  # the only repeat buyer of milk before week 5
    assert row["gap_cv"] == pytest.approx(np.std([1, 2], ddof=1) / 1.5)
    assert row["due_ratio"] == pytest.approx(1 / 1.5)  # 1 week since the last, usual gap 1.5 weeks


def test_switches_choose_the_columns() -> None:
    every = SignalParams()
    assert {"item_display", "promo_x_disc", "due_ratio", "age"} <= set(habitual_features(every))
    assert {"demo_lift", "cat_mailer", "promo_x_sensitivity", "lfm_score"} <= set(stretch_features(every))
    # the product LightFM model feeds the habitual ranker only when switched on (off by default)
    assert "lfm_score" not in habitual_features(every)
    assert "lfm_score" in habitual_features(SignalParams(lightfm_habitual=True))
    assert "lfm_score" not in habitual_features(SignalParams(lightfm_habitual=True, lightfm_scores=False))
    no_promo = SignalParams(promotions=False)
    assert "promo_x_disc" not in habitual_features(no_promo)
    assert "item_disc_share" in habitual_features(no_promo)
    bare = SignalParams(
        demographics=False, promotions=False, discounts=False, repurchase=False, lightfm_scores=False
    )
    assert "lfm_score" not in stretch_features(bare)
    assert not {"due_ratio", "age", "discount_share"} & set(habitual_features(bare))


def test_only_complete_journey_has_side_tables() -> None:
    assert load_signals("files:parquet:x", SignalParams()) is NO_SIGNALS
    assert load_signals("completejourney", SignalParams(source="none")) is NO_SIGNALS


def test_builder_feeds_side_features_to_lightfm_and_the_rankers(
    tiny_dataset: Dataset, fast_config: TrainConfig
) -> None:
    data = tiny_dataset.before_week(WEEK)
    history = History.build(data.transactions, data.catalog)
    side = SideTables.build(BEFORE, history)
    builder = CutoffBuilder(data, history, fast_config, load_tiers_config(fast_config.tiers), side)
    frames = builder.frames([3, 4])
    now = builder.challenge(WEEK)
    columns = habitual_features(fast_config.signals)
    assert set(columns) <= set(now.habitual.columns)
    train = pd.concat([f.habitual for f in frames.values()], ignore_index=True)
    proba = Ranker("logistic", columns, fast_config.ranker).fit(train).predict_proba(now.habitual)
    assert np.isfinite(proba).all()
    stretch = concat_blocks(builder.stretch_blocks(now.stretch, now.stretch.members))
    assert set(stretch_features(fast_config.signals)) <= set(stretch.columns)
    # LightFM's member features carry the demographic block: 11 columns (levels + unknown) more than
    # those of a builder without side tables (a hand-built source has none)
    bare = CutoffBuilder(data, history, fast_config, load_tiers_config(fast_config.tiers))
    bare.challenge(WEEK)
    n_features = {
        name: b.category_model._model.user_embeddings.shape[0]  # type: ignore[union-attr]
        for name, b in (("side", builder), ("bare", bare))
    }
    assert n_features["side"] - n_features["bare"] == 11


@pytest.mark.parametrize("on", [False, True])
def test_product_lightfm_scores_habitual_pairs_only_when_switched_on(
    tiny_dataset: Dataset, fast_config: TrainConfig, on: bool
) -> None:
    data = tiny_dataset.before_week(WEEK)
    history = History.build(data.transactions, data.catalog)
    signals = fast_config.signals.model_copy(update={"lightfm_habitual": on})
    config = fast_config.model_copy(update={"signals": signals})
    builder = CutoffBuilder(data, history, config, load_tiers_config(config.tiers))
    epochs: list[int | None] = []
    fit = builder.item_model.fit

    def recording_fit(*args: Any, **kwargs: Any) -> LightFMModel:
        epochs.append(kwargs.get("epochs"))
        return fit(*args, **kwargs)

    builder.item_model.fit = recording_fit  # type: ignore[method-assign]
    builder.frames([3, 4])
    now = builder.challenge(WEEK)
    # the first fit runs the configured epochs, each later cutoff continues with the warm-start ones
    warm = config.lightfm.warm_start_epochs
    assert epochs == ([None, warm, warm] if on else [])
    assert builder.item_model.is_fitted is on
    assert now.habitual["lfm_score"].notna().all() if on else now.habitual["lfm_score"].isna().all()
    assert ("lfm_score" in habitual_features(signals)) is on
    assert builder.category_model.is_fitted  # the stretch pick's model is fitted either way


@pytest.mark.slow
def test_complete_journey_ships_every_side_table() -> None:

    from engine.data.loaders import load_dataset

    dataset = load_dataset()
    signals = load_signals(dataset.source, SignalParams(), dataset.promotions)
    assert signals.demographics is not None
    assert len(signals.demographics) == 801
    promo = signals.promotions
    assert promo is not None
    assert not promo.duplicated(["item_id", "week"]).any()
    shares = promo[["display_share", "mailer_share"]].to_numpy()
    assert ((shares >= 0) & (shares <= 1)).all()
    assert signals.coupons is not None
    assert signals.coupons["redemptions"].sum() == 2102
    assert signals.coupons["week"].between(1, 53).all()
    assert signals.discounts is not None
    assert (signals.discounts["discount"] >= 0).all()


def test_complete_journey_promotions_are_the_datasets_own_calendar() -> None:
    # the placements are read once, by the data loader: the side table is the calendar's two shares
    calendar = pd.DataFrame(
        {
            "item_id": [7, 7, 8],
            "week": [3, 4, 4],
            "promo_share": [0.5, 1.0, 0.25],
            "display_share": [0.5, 0.0, 0.25],
            "mailer_share": [0.0, 1.0, 0.0],
        }
    )
    signals = load_signals("completejourney", SignalParams(), calendar)
    assert signals.promotions is not None
    expected = calendar[["item_id", "week", "display_share", "mailer_share"]]
    pd.testing.assert_frame_equal(signals.promotions, expected)
    assert signals.demographics is not None  # the other side tables still come from Complete Journey
    assert load_signals("completejourney", SignalParams(), None).promotions is None
