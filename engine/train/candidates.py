"""Per-member candidate lists at a cutoff: the trained part of the product, without any MLflow.

:func:`build_candidates` is what backtests and ``offers challenges`` call, possibly many times: it cuts
the data at ``as_of_week`` first, so nothing at or after the cutoff can reach the candidates.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from engine.artifact import CandidateArtifact, Manifest
from engine.batch.mapper import BlockMapper, InProcessMapper
from engine.data.prices import PRICE_COLUMNS, item_prices
from engine.data.profiles import with_profiles
from engine.data.schema import CATALOG_COLUMNS, CATEGORY, ITEM_ID, MEMBER_ID, SPEND_52W, TIER, WEEK, Dataset
from engine.data.tiers import TiersConfig, derive_tiers, load_tiers_config, tier_drops
from engine.errors import DataValidationError
from engine.loyalty import LoyaltyInputs, load_ladder, load_segments, loyalty_table
from engine.train.blocks import challenge_blocks, score_block, scoring_inputs
from engine.train.categories import ADOPTER_SPEND, CategoryStats
from engine.train.config import TrainConfig
from engine.train.cutoffs import CutoffBuilder, CutoffFrames
from engine.train.fingerprint import training_fingerprint
from engine.train.groups import habitual_features, stretch_features
from engine.train.habit import REPEAT_MARGIN, REPEAT_SHARE, category_habits
from engine.train.history import CATEGORY_IDX, ITEM_IDX, MEMBER_IDX, History
from engine.train.ranker import Ranker, RankerKind, select_ranker
from engine.train.side import load_signals
from engine.train.stretch import concat_blocks
from engine.train.tables import cold_start_tables


@dataclass
class CandidateBuild:
    """The artifact plus what the tracking step logs about how it was made."""

    artifact: CandidateArtifact
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def _cutoff_weeks(
    first_week: int, as_of_week: int, config: TrainConfig
) -> tuple[list[int], int | None, list[int]]:
    """Label weeks for the final ranker, the validation week (or None) and its training weeks."""
    n = config.ranker.label_weeks
    final = list(range(as_of_week - n, as_of_week))
    auto = config.ranker.selects
    valid_train = list(range(as_of_week - 1 - n, as_of_week - 1)) if auto else []
    earliest = min([*final, *valid_train])
    if earliest <= first_week:
        raise DataValidationError(
            f"as_of_week {as_of_week}: training needs history before its earliest label week {earliest}, "
            f"but the data starts in week {first_week}; use a later cutoff or fewer [ranker] label_weeks"
        )
    return final, (as_of_week - 1 if auto else None), valid_train


def _select(
    frames: dict[int, CutoffFrames], valid_week: int, train_weeks: list[int], config: TrainConfig
) -> tuple[RankerKind, RankerKind, dict[str, float]]:
    valid = frames[valid_week]
    rk = config.ranker
    hab_train = pd.concat([frames[w].habitual for w in train_weeks], ignore_index=True)
    hab = select_ranker(
        "habitual",
        habitual_features(config.signals),
        hab_train,
        valid.habitual,
        valid.shoppers,
        rk.select_k_habitual,
        rk,
        rk.habitual_kind,
        {
            "top_frequency": valid.habitual["n_baskets"].to_numpy(),
            "decayed": valid.habitual["decayed_freq"].to_numpy(),
        },
        rk.negative_rate_habitual,
    )
    st_train = pd.concat([frames[w].stretch for w in train_weeks], ignore_index=True)
    st = select_ranker(
        "stretch",
        stretch_features(config.signals),
        st_train,
        valid.stretch,
        valid.shoppers,
        rk.select_k_stretch,
        rk,
        rk.stretch_ranker_kind,
        {
            "popularity": valid.stretch["adoption_rate"].to_numpy(),
            "cooccurrence": valid.stretch["cooccurrence"].to_numpy(),
        },
        rk.negative_rate_stretch,
    )
    return hab.kind, st.kind, {**hab.metrics, **st.metrics}


def fit_candidates(
    dataset: Dataset,
    as_of_week: int,
    config: TrainConfig,
    model_version: str | None = None,
    mapper: BlockMapper | None = None,
) -> CandidateBuild:
    """Train on weeks ``< as_of_week`` and score candidates for the challenge week ``as_of_week``.

    Parameters
    ----------
    dataset
        The full data set; it is cut at ``as_of_week`` before anything else reads it.
    as_of_week
        The cutoff and challenge week.
    config
        Training config.
    model_version
        Name written to the manifest; defaults to ``asof<week>-<fingerprint prefix>`` (deterministic).
    mapper
        Runs the challenge week's member blocks (:mod:`engine.batch`); default: this process. Any
        mapper gives the same artifact.

    Returns
    -------
    CandidateBuild
        The artifact, validation metrics, the chosen ranker kinds and step timings.
    """
    data = dataset.before_week(as_of_week)  # the only door to the data: nothing at or after the cutoff
    tx = data.transactions
    if tx.empty:
        raise DataValidationError(f"as_of_week {as_of_week}: no transactions before it in {dataset.source}")
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[step] = round(now - clock, 3)
        clock = now

    final_weeks, valid_week, valid_train = _cutoff_weeks(int(tx[WEEK].min()), as_of_week, config)
    tiers_config = load_tiers_config(config.tiers)
    fingerprint = training_fingerprint(data)
    # Prices members pay in the challenge week and margins at them, from the lines before the cutoff
    # and the week's planned promotions: stretch pairs are ranked and the artifact priced with them.
    priced = item_prices(tx, data.catalog, data.promotions, as_of_week, config.prices)
    history = History.build(tx, priced)
    lap("history_seconds")
    label_weeks = sorted({*final_weeks, *valid_train, *([valid_week] if valid_week else [])})
    builder = CutoffBuilder(data, history, config, tiers_config)
    frames = builder.frames(label_weeks)
    lap("features_and_lightfm_seconds")

    metrics: dict[str, float] = {}
    hab_kind: RankerKind
    st_kind: RankerKind
    if valid_week is not None:
        hab_kind, st_kind, metrics = _select(frames, valid_week, valid_train, config)
    else:
        hab_kind = config.ranker.habitual_kind  # type: ignore[assignment]  # not auto: no validation week
        st_kind = config.ranker.stretch_ranker_kind  # type: ignore[assignment]
    lap("ranker_selection_seconds")

    rk = config.ranker
    hab_train = pd.concat([frames[w].habitual for w in final_weeks], ignore_index=True)
    st_train = pd.concat([frames[w].stretch for w in final_weeks], ignore_index=True)
    del frames  # the training pairs are no longer needed: free them before the challenge week
    hab_features, st_features = habitual_features(config.signals), stretch_features(config.signals)
    hab_ranker = Ranker(hab_kind, hab_features, rk, rk.negative_rate_habitual).fit(hab_train)
    del hab_train
    st_ranker = Ranker(st_kind, st_features, rk, rk.negative_rate_stretch).fit(st_train)
    del st_train
    lap("ranker_fit_seconds")

    now = builder.challenge(as_of_week)
    # Scored and cut down to what the artifact keeps one block of members at a time, by whatever
    # engine ``mapper`` is (this process by default): the shared inputs are built once.
    inputs = scoring_inputs(now.stretch, builder.category_model, (hab_ranker, st_ranker), config.candidates)
    blocks = challenge_blocks(inputs, now.habitual, config.features.member_block, len(history.members))
    scored = (mapper or InProcessMapper()).map(score_block, inputs.shared(), blocks)
    del inputs, blocks
    habitual = concat_blocks(hab for hab, _ in scored)
    stretch = concat_blocks(st for _, st in scored)
    del scored
    lap("challenge_week_seconds")

    data = replace(data, catalog=priced)
    tables = _tables(data, history, now.category_stats, habitual, stretch, as_of_week, config, tiers_config)
    manifest = Manifest(
        model_version=model_version or f"asof{as_of_week}-{fingerprint[:12]}",
        as_of_week=as_of_week,
        challenge_week=as_of_week,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        data_fingerprint=fingerprint,
        metrics=metrics or None,
        data_source=dataset.source,
    )
    artifact = CandidateArtifact(manifest=manifest, **tables)
    lap("tables_seconds")
    params = {
        "habitual_ranker": hab_kind,
        "stretch_ranker": st_kind,
        "label_weeks": ",".join(map(str, final_weeks)),
    }
    return CandidateBuild(artifact, metrics, params, timings)


def build_candidates(
    dataset: Dataset, as_of_week: int, config: TrainConfig, mapper: BlockMapper | None = None
) -> CandidateArtifact:
    """The candidate artifact for challenge week ``as_of_week``, trained on weeks before it only.

    Parameters
    ----------
    dataset
        The full data set (it is cut at ``as_of_week`` first).
    as_of_week
        Cutoff and challenge week.
    config
        Training config.
    mapper
        Runs the challenge week's member blocks (default: this process).

    Returns
    -------
    CandidateArtifact
        Tables as documented in :mod:`engine.artifact`; the manifest's model version is deterministic.
    """
    return fit_candidates(dataset, as_of_week, config, mapper=mapper).artifact


def _loyalty(data: Dataset, members: pd.DataFrame, as_of_week: int, config: TrainConfig) -> pd.DataFrame:
    """Stage and segments of every member of the member file and of the tiered members, at the cutoff."""
    signals = load_signals(data.source, config.signals, data.promotions)
    known = members.loc[:, [MEMBER_ID, TIER, SPEND_52W]]
    extra = data.members.loc[~data.members[MEMBER_ID].isin(known[MEMBER_ID]), [MEMBER_ID, TIER]]
    inputs = LoyaltyInputs(
        transactions=data.transactions,
        catalog=data.catalog,
        members=pd.concat([known, extra], ignore_index=True),
        demographics=signals.demographics,
        coupons=signals.coupons,
    )
    return loyalty_table(inputs, as_of_week, load_ladder(), load_segments())


def _tables(
    data: Dataset,
    history: History,
    stats: CategoryStats,
    habitual: pd.DataFrame,
    stretch: pd.DataFrame,
    as_of_week: int,
    config: TrainConfig,
    tiers_config: TiersConfig,
) -> dict[str, pd.DataFrame]:
    """The artifact's tables from the habitual and stretch pairs kept by :func:`score_block`."""
    hab = habitual
    hab_out = pd.DataFrame(
        {
            MEMBER_ID: history.members.to_id(hab[MEMBER_IDX]),
            ITEM_ID: history.items.to_id(hab[ITEM_IDX]),
            "score": hab["score"].to_numpy(),
            "n_baskets": hab["n_baskets"].to_numpy(dtype=np.int64),
            "last_week": hab["last_week"].to_numpy(dtype=np.int64),
            "rank": hab["rank"].to_numpy(),
        }
    )
    st_out = pd.DataFrame(
        {
            MEMBER_ID: history.members.to_id(stretch[MEMBER_IDX]),
            CATEGORY: history.categories.to_id(stretch[CATEGORY_IDX]),
            "score": stretch["score"].to_numpy(),
            "suggested_item_id": history.items.to_id(stretch["suggested_item_idx"]),
            "expected_margin": stretch["expected_margin"].to_numpy(),
            "rank": stretch["rank"].to_numpy(),
        }
    )
    popular_items, popular_categories = cold_start_tables(history, stats, as_of_week, config)
    tiers = derive_tiers(data.transactions, as_of_week, tiers_config)
    last_week = data.transactions.groupby(MEMBER_ID)[WEEK].max()
    members = tiers.assign(last_week=tiers[MEMBER_ID].map(last_week).astype(np.int64))
    # win-back: the higher tier a member lost recently, derived the same way (engine.data.tiers)
    drops = tier_drops(data.transactions, as_of_week, tiers_config)
    members = members.merge(drops, on=MEMBER_ID, how="left", validate="one_to_one")
    # How to address each member (messages), when the members file says.
    members = with_profiles(members, data.members)
    mc = history.member_categories(as_of_week)[[MEMBER_IDX, CATEGORY_IDX]].drop_duplicates()
    mc = mc.sort_values([MEMBER_IDX, CATEGORY_IDX])
    member_categories = pd.DataFrame(
        {
            MEMBER_ID: history.members.to_id(mc[MEMBER_IDX]),
            CATEGORY: history.categories.to_id(mc[CATEGORY_IDX]),
        }
    )
    used = pd.concat(
        [
            hab_out[ITEM_ID],
            st_out["suggested_item_id"],
            popular_items[ITEM_ID],
            popular_categories["suggested_item_id"],
        ]
    )
    categories = category_habits(data.transactions, data.catalog, as_of_week, config.habit)
    habit = categories.set_index(CATEGORY)[[REPEAT_MARGIN, REPEAT_SHARE]]
    items = data.catalog[data.catalog[ITEM_ID].isin(used)].loc[:, [*CATALOG_COLUMNS, *PRICE_COLUMNS]]
    items = items.join(habit, on=CATEGORY).fillna({REPEAT_MARGIN: 0.0, REPEAT_SHARE: 0.0})
    spend = pd.Series(stats.adopter_spend, index=pd.Index(history.categories.ids, dtype=object))
    items[ADOPTER_SPEND] = items[CATEGORY].astype(str).map(spend).astype("float64").to_numpy()
    items = items.sort_values(ITEM_ID).reset_index(drop=True)
    return {
        "categories": categories,
        "member_loyalty": _loyalty(data, members, as_of_week, config),
        "habitual": hab_out,
        "stretch": st_out,
        "items": items,
        "members": members,
        "member_categories": member_categories,
        "popular_items": popular_items,
        "popular_categories": popular_categories,
    }
