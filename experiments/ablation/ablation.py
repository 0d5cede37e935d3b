"""Ablation of the ranker's feature groups and of LightFM, on tuning cutoffs only, against raw baselines.

For each cutoff week W (tuning weeks only: never the reported backtest cutoffs 30-50) the training
pipeline's own :class:`~engine.train.cutoffs.CutoffBuilder` builds the labelled pairs of the label weeks
and the challenge week's pairs twice: with and without demographics as LightFM member features. Each
variant then fits the habitual and stretch rankers on its feature columns (as ``fit_candidates`` does,
ranker kind chosen on the week before W when ``[ranker] kind = "auto"``) and is measured on week W:

* habitual: share of each member's top-2 habitual candidates by score bought in W, against the raw
  baseline: the member's two most-bought products (basket count before W, any product, fuel included);
* stretch: share of members adopting (buying in W) their top-1 stretch category by score, against the
  raw baseline: the most popular category the member never bought (popularity: share of the members
  shopping in the 8 weeks before W who bought in the category in those weeks; any category).

Members in scope shopped before W and in W. Built pairs are cached under ``--cache`` (one pickle per
cutoff and LightFM variant), so changing the variants costs ranker fits only.

Usage::

    PYTHONPATH=$PWD nice python experiments/ablation/ablation.py --cutoffs 22 24 26 28
"""

from __future__ import annotations

import argparse
import pickle
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from engine.data.loaders import load_dataset
from engine.data.schema import BASKET_ID, CATEGORY, ITEM_ID, MEMBER_ID, WEEK, Dataset
from engine.data.tiers import load_tiers_config
from engine.train.candidates import _cutoff_weeks
from engine.train.config import SignalParams, TrainConfig, load_train_config
from engine.train.cutoffs import CutoffBuilder, CutoffFrames
from engine.train.groups import habitual_features, stretch_features
from engine.train.history import CATEGORY_IDX, ITEM_IDX, MEMBER_IDX, History
from engine.train.ranker import Ranker, RankerKind, select_ranker
from engine.train.stretch import concat_blocks

HERE = Path(__file__).parent
OFF = {"demographics": False, "promotions": False, "discounts": False, "repurchase": False}
#: name -> (LightFM with demographic member features, switches); "history" is the model before issue 11.
VARIANTS: dict[str, tuple[bool, dict[str, bool]]] = {
    "history (before)": (False, OFF),
    "history, no LightFM": (False, {**OFF, "lightfm_scores": False}),
    "+ repurchase": (False, {**OFF, "repurchase": True}),
    "+ demographics": (False, {**OFF, "demographics": True}),
    "+ promotions": (False, {**OFF, "promotions": True}),
    "+ discounts": (False, {**OFF, "discounts": True}),
    "+ LightFM demographics": (True, OFF),
    "all": (True, {}),
    "all, no LightFM": (True, {"lightfm_scores": False}),
    "all, LightFM without demographics": (False, {}),
    "all - repurchase": (True, {"repurchase": False}),
    "all - demographics": (True, {"demographics": False}),
    "all - promotions": (True, {"promotions": False}),
    "all - discounts": (True, {"discounts": False}),
}


@dataclass
class Built:
    """What one builder run leaves for the rankers: labelled label-week pairs and challenge-week pairs."""

    frames: dict[int, CutoffFrames]
    habitual: pd.DataFrame
    stretch: pd.DataFrame
    history: History


def _dataset(cache: Path) -> Dataset:
    path = cache / "dataset.pkl"
    if path.exists():
        with path.open("rb") as f:
            data: Dataset = pickle.load(f)
            return data
    data = load_dataset()
    with path.open("wb") as f:
        pickle.dump(data, f)
    return data


def _build(dataset: Dataset, week: int, config: TrainConfig, lfm_demo: bool, cache: Path) -> Built:
    path = cache / f"built_w{week}_lfmdemo{int(lfm_demo)}.pkl"
    if path.exists():
        with path.open("rb") as f:
            built: Built = pickle.load(f)
            return built
    start = time.perf_counter()
    signals = SignalParams(lightfm_demographics=lfm_demo)
    cfg = config.model_copy(update={"signals": signals, "progress": False})
    data = dataset.before_week(week)
    history = History.build(data.transactions, data.catalog)
    final, valid, valid_train = _cutoff_weeks(int(data.transactions[WEEK].min()), week, cfg)
    builder = CutoffBuilder(data, history, cfg, load_tiers_config(cfg.tiers))
    frames = builder.frames(sorted({*final, *valid_train, *([valid] if valid else [])}))
    now = builder.challenge(week)
    stretch = concat_blocks(builder.stretch_blocks(now.stretch, now.stretch.members))
    built = Built(frames, now.habitual, stretch, history)
    with path.open("wb") as f:
        pickle.dump(built, f)
    print(f"  built week {week} (LightFM demographics {lfm_demo}) in {time.perf_counter() - start:.0f}s")
    return built


def _kind(built: Built, week: int, config: TrainConfig, features: tuple[str, ...], prefix: str) -> RankerKind:
    rk = config.ranker
    wanted = rk.habitual_kind if prefix == "habitual" else rk.stretch_ranker_kind
    if wanted != "auto":
        return wanted
    valid = built.frames[week - 1]
    train_weeks = [w for w in built.frames if w < week - 1][-rk.label_weeks :]
    train = pd.concat([getattr(built.frames[w], prefix) for w in train_weeks], ignore_index=True)
    rate = rk.negative_rate_habitual if prefix == "habitual" else rk.negative_rate_stretch
    k = rk.select_k_habitual if prefix == "habitual" else rk.select_k_stretch
    pairs = getattr(valid, prefix)
    return select_ranker(prefix, features, train, pairs, valid.shoppers, k, rk, "auto", {}, rate).kind


def _scores(built: Built, week: int, config: TrainConfig, signals: SignalParams) -> dict[str, pd.DataFrame]:
    rk = config.ranker
    final = list(range(week - rk.label_weeks, week))
    out: dict[str, pd.DataFrame] = {}
    kinds: list[str] = []
    for prefix, features, rate in (
        ("habitual", habitual_features(signals), rk.negative_rate_habitual),
        ("stretch", stretch_features(signals), rk.negative_rate_stretch),
    ):
        kind = _kind(built, week, config, features, prefix)
        kinds.append(kind)
        train = pd.concat([getattr(built.frames[w], prefix) for w in final], ignore_index=True)
        ranker = Ranker(kind, features, rk, rate).fit(train)
        now: pd.DataFrame = getattr(built, prefix)
        out[prefix] = now.assign(score=ranker.predict_proba(now))
    print(f"    ranker kinds (habitual, stretch): {kinds}")
    return out


def _top(pairs: pd.DataFrame, by: str, k: int) -> pd.DataFrame:
    ordered = pairs.sort_values([MEMBER_ID, by, "key"], ascending=[True, False, True], kind="stable")
    return ordered.groupby(MEMBER_ID, sort=False).head(k)


@dataclass(frozen=True)
class Truth:
    """Week W's purchases and the raw baselines' picks for the members in scope."""

    members: pd.Index
    items: pd.MultiIndex  # (member_id, item_id) bought in W
    categories: pd.MultiIndex  # (member_id, category) bought in W
    raw_habitual: float
    raw_stretch: float


def _truth(dataset: Dataset, week: int, popularity_weeks: int) -> Truth:
    tx = dataset.transactions
    cat_of = dataset.catalog.set_index(ITEM_ID)[CATEGORY]
    before, now = tx[tx[WEEK] < week], tx[tx[WEEK] == week]
    members = pd.Index(np.intersect1d(before[MEMBER_ID].unique(), now[MEMBER_ID].unique()))
    items = pd.MultiIndex.from_frame(now[[MEMBER_ID, ITEM_ID]].drop_duplicates())
    now_cats = pd.DataFrame({MEMBER_ID: now[MEMBER_ID], CATEGORY: now[ITEM_ID].map(cat_of)})
    categories = pd.MultiIndex.from_frame(now_cats.drop_duplicates())
    counts = before.groupby([MEMBER_ID, ITEM_ID])[BASKET_ID].nunique().rename("n").reset_index()
    counts = counts[counts[MEMBER_ID].isin(members)].assign(key=lambda f: f[ITEM_ID])
    top2 = _top(counts, "n", 2)
    hits = pd.MultiIndex.from_frame(top2[[MEMBER_ID, ITEM_ID]]).isin(items)
    raw_habitual = float(pd.Series(hits, index=top2[MEMBER_ID].to_numpy()).groupby(level=0).sum().sum())
    raw_habitual /= 2 * len(members)
    recent = before[before[WEEK] >= week - popularity_weeks]
    rc = pd.DataFrame({MEMBER_ID: recent[MEMBER_ID], CATEGORY: recent[ITEM_ID].map(cat_of)}).drop_duplicates()
    popularity = rc.groupby(CATEGORY)[MEMBER_ID].nunique() / recent[MEMBER_ID].nunique()
    order = popularity.sort_values(ascending=False, kind="stable").index
    ever = pd.DataFrame({MEMBER_ID: before[MEMBER_ID], CATEGORY: before[ITEM_ID].map(cat_of)})
    ever_set = set(map(tuple, ever.drop_duplicates().to_numpy()))
    adopted = 0
    for member in members:
        pick = next((c for c in order if (member, c) not in ever_set), None)
        adopted += pick is not None and (member, pick) in categories
    return Truth(members, items, categories, raw_habitual, adopted / len(members))


def _measure(scores: dict[str, pd.DataFrame], built: Built, truth: Truth) -> tuple[float, float]:
    h = built.history
    hab = scores["habitual"]
    hab = pd.DataFrame(
        {
            MEMBER_ID: h.members.to_id(hab[MEMBER_IDX]),
            ITEM_ID: h.items.to_id(hab[ITEM_IDX]),
            "score": hab["score"].to_numpy(),
            "key": hab[ITEM_IDX].to_numpy(),
        }
    )
    top = _top(hab[hab[MEMBER_ID].isin(truth.members)], "score", 2)
    habitual = pd.MultiIndex.from_frame(top[[MEMBER_ID, ITEM_ID]]).isin(truth.items).sum() / (
        2 * len(truth.members)
    )
    st = scores["stretch"]
    st = pd.DataFrame(
        {
            MEMBER_ID: h.members.to_id(st[MEMBER_IDX]),
            CATEGORY: h.categories.to_id(st[CATEGORY_IDX]),
            "score": st["score"].to_numpy(),
            "key": st[CATEGORY_IDX].to_numpy(),
        }
    )
    top = _top(st[st[MEMBER_ID].isin(truth.members)], "score", 1)
    stretch = pd.MultiIndex.from_frame(top[[MEMBER_ID, CATEGORY]]).isin(truth.categories).sum()
    return float(habitual), float(stretch / len(truth.members))


def main() -> None:
    """Run the variants over the cutoffs and write ``report.md`` beside this script."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cutoffs", type=int, nargs="+", default=[22, 24, 26, 28])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/features_cache"))
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS))
    parser.add_argument("--out", type=Path, default=HERE / "report.md")
    kinds = ["auto", "logistic", "hist_gb"]
    parser.add_argument("--habitual-kind", choices=kinds, help="default: [ranker] kind of train.toml")
    parser.add_argument("--stretch-kind", choices=kinds, help="default: [ranker] stretch_kind or kind")
    args = parser.parse_args()
    if any(30 <= w <= 50 for w in args.cutoffs):
        parser.error("cutoffs 30-50 are the reported backtest weeks: tune on earlier ones")
    args.cache.mkdir(parents=True, exist_ok=True)
    config = load_train_config()
    # Fixed kinds keep a variant's number from moving with which kind "auto" picks on the week before.
    ranker = config.ranker.model_copy(
        update={
            "kind": args.habitual_kind or config.ranker.habitual_kind,
            "stretch_kind": args.stretch_kind or config.ranker.stretch_ranker_kind,
        }
    )
    config = config.model_copy(update={"ranker": ranker})
    dataset = _dataset(args.cache)
    rows = []
    for week in args.cutoffs:
        truth = _truth(dataset, week, config.features.popularity_weeks)
        print(f"week {week}: raw habitual {truth.raw_habitual:.4f}, raw stretch {truth.raw_stretch:.4f}")
        for name in args.variants:
            lfm_demo, switches = VARIANTS[name]
            built = _build(dataset, week, config, lfm_demo, args.cache)
            signals = SignalParams(lightfm_demographics=lfm_demo, **switches)
            start = time.perf_counter()
            habitual, stretch = _measure(_scores(built, week, config, signals), built, truth)
            took = time.perf_counter() - start
            print(f"  {name:36s} habitual {habitual:.4f} stretch {stretch:.4f} ({took:.0f}s)")
            rows.append(
                {
                    "variant": name,
                    "week": week,
                    "members": len(truth.members),
                    "habitual": habitual,
                    "raw_habitual": truth.raw_habitual,
                    "stretch": stretch,
                    "raw_stretch": truth.raw_stretch,
                }
            )
        # Written after every cutoff, so a long run leaves its numbers so far.
        frame = pd.DataFrame(rows)
        frame.to_csv(args.out.with_suffix(".csv"), index=False)
        _write_report(frame, args.out, sorted(set(frame["week"])), _kinds_note(config))


def _kinds_note(config: TrainConfig) -> str:
    rk = config.ranker
    return f"habitual {rk.habitual_kind}, stretch {rk.stretch_ranker_kind}"


def _write_report(frame: pd.DataFrame, out: Path, cutoffs: list[int], kinds: str) -> None:
    weighted = frame.assign(
        **{c: frame[c] * frame["members"] for c in ("habitual", "raw_habitual", "stretch", "raw_stretch")}
    )
    pooled = weighted.groupby("variant", sort=False)[
        ["habitual", "raw_habitual", "stretch", "raw_stretch"]
    ].sum()
    per_week = frame.assign(
        h=frame["habitual"] / frame["raw_habitual"], s=frame["stretch"] / frame["raw_stretch"]
    )
    lines = [
        "# Feature ablation on tuning cutoffs (issue 11, item 6)",
        "",
        f"Cutoffs {', '.join(map(str, cutoffs))} (tuning weeks; the reported backtest cutoffs 30-50 are "
        "never used). One-week window. Habitual: top-2 eligible habitual candidates by ranker score vs "
        "each member's two most-bought products (raw, any product). Stretch: top-1 stretch category by "
        "score vs the most popular never-bought category (raw, any category). Ratios pool members over "
        f"the cutoffs; min/max are over cutoffs. Rankers: {kinds}.",
        "",
        "| variant | habitual | vs raw top-2 | min-max | stretch adoption | vs raw popular | min-max |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row in pooled.iterrows():
        w = per_week[per_week["variant"] == name]
        members = frame.loc[frame["variant"] == name, "members"].sum()
        lines.append(
            f"| {name} | {row['habitual'] / members:.4f} | {row['habitual'] / row['raw_habitual']:.3f}x "
            f"| {w['h'].min():.3f}-{w['h'].max():.3f} | {row['stretch'] / members:.4f} "
            f"| {row['stretch'] / row['raw_stretch']:.3f}x | {w['s'].min():.3f}-{w['s'].max():.3f} |"
        )
    lines += [
        "",
        "Command: `PYTHONPATH=$PWD nice python experiments/ablation/ablation.py "
        f"{shlex.join(sys.argv[1:])}` (per-cutoff numbers in {out.with_suffix('.csv').name}).",
        "",
    ]
    out.write_text("\n".join(lines))


if __name__ == "__main__":
    main()
