"""Simple candidate generators the trained recommender must beat, producing the artifact's own tables.

Each generator reads only the training slice (``week < as_of_week``; later rows are refused) and returns
a table with exactly the columns of :data:`engine.artifact.TABLES` (``habitual`` or ``stretch``), with a
``score`` that is a weekly purchase probability like the model's, so the rules' economic guard treats a
baseline's picks as it treats the model's. Then :func:`replace_candidates` swaps the table into a
:class:`~engine.artifact.CandidateArtifact` and the challenges go through the same rules layer.

Habitual baselines
    ``topfreq``  personal top-frequency: rank by baskets with the item; score = share of the member's
                 observed weeks with the item.
    ``decayed``  time-decayed personal frequency: rank and score by a decayed share of weeks, the decay
                 halving every ``half_life_weeks``.
Stretch baselines (never a category the member bought before the cutoff)
    ``popular``  popularity among members who never bought the category: weekly adoption hazard.
    ``cooc``     co-occurrence with the member's own categories: the hazard times the mean lift
                 P(j | i) / P(j) over the categories i the member buys.
    ``random``   a random eligible category (seeded), scored by its hazard.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from engine.artifact import TABLES, CandidateArtifact
from engine.backtest.history import (
    CategoryStats,
    check_before,
    decay_weights,
    decayed_span,
    member_first_week,
    member_item_counts,
)
from engine.data.schema import CATEGORY, EXCLUDED, ITEM_ID, MARGIN_RATE, MEMBER_ID, PRICE, WEEK

HABITUAL_COLUMNS = TABLES["habitual"]
STRETCH_COLUMNS = TABLES["stretch"]


def _offerable_items(catalog: pd.DataFrame) -> pd.Index:
    return pd.Index(catalog.loc[~catalog[EXCLUDED].fillna(True).astype(bool), ITEM_ID])


def _top_k(frame: pd.DataFrame, keys: list[str], ascending: list[bool], k: int) -> pd.DataFrame:
    """Keep each member's first ``k`` rows in the given order and number them ``rank`` 1..k."""
    ordered = frame.sort_values([MEMBER_ID, *keys], ascending=[True, *ascending], kind="mergesort")
    ordered = ordered.assign(rank=ordered.groupby(MEMBER_ID, sort=False).cumcount() + 1)
    return ordered[ordered["rank"] <= k].reset_index(drop=True)


def _habitual_base(
    transactions: pd.DataFrame, catalog: pd.DataFrame, as_of_week: int, min_baskets: int
) -> pd.DataFrame:
    check_before(transactions, as_of_week, "habitual baseline")
    counts = member_item_counts(transactions)
    counts = counts[(counts["n_baskets"] >= min_baskets) & counts[ITEM_ID].isin(_offerable_items(catalog))]
    first = member_first_week(transactions)
    return counts.assign(first_week=counts[MEMBER_ID].map(first))


def topfreq_habitual(
    transactions: pd.DataFrame, catalog: pd.DataFrame, as_of_week: int, *, k: int, min_baskets: int
) -> pd.DataFrame:
    """Personal top-frequency: each member's ``k`` offerable items with the most baskets.

    Parameters
    ----------
    transactions
        Training transactions, every row with ``week < as_of_week``.
    catalog
        Canonical catalog (excluded items are never candidates).
    as_of_week
        The cutoff; the candidates are for this week.
    k
        Candidates kept per member.
    min_baskets
        Items bought in fewer baskets are not habitual.

    Returns
    -------
    pandas.DataFrame
        The ``habitual`` artifact table; ties broken by the later last week, then item id.
    """
    base = _habitual_base(transactions, catalog, as_of_week, min_baskets)
    span = (as_of_week - base["first_week"]).clip(lower=1)
    base = base.assign(score=(base["n_weeks"] / span).clip(upper=1.0).astype("float64"))
    top = _top_k(base, ["n_baskets", "last_week", ITEM_ID], [False, False, True], k)
    return top.loc[:, list(HABITUAL_COLUMNS)]


def decayed_habitual(
    transactions: pd.DataFrame,
    catalog: pd.DataFrame,
    as_of_week: int,
    *,
    k: int,
    min_baskets: int,
    half_life_weeks: float,
) -> pd.DataFrame:
    """Time-decayed personal frequency: recent purchase weeks count more, halving every half-life.

    The score is the decayed share of the member's observed weeks in which the item was bought, a
    weekly purchase probability that leans towards the member's recent habits. Same parameters as
    :func:`topfreq_habitual`, plus ``half_life_weeks``.
    """
    base = _habitual_base(transactions, catalog, as_of_week, min_baskets)
    weeks = transactions[[MEMBER_ID, ITEM_ID, WEEK]].drop_duplicates()
    weeks = weeks.assign(w=decay_weights(weeks[WEEK].to_numpy(), as_of_week, half_life_weeks))
    decayed = weeks.groupby([MEMBER_ID, ITEM_ID], sort=False)["w"].sum().rename("decayed").reset_index()
    base = base.merge(decayed, on=[MEMBER_ID, ITEM_ID], how="left")
    span = decayed_span(base["first_week"], as_of_week, half_life_weeks)
    base = base.assign(score=(base["decayed"] / span).clip(upper=1.0).astype("float64"))
    top = _top_k(base, ["score", "n_baskets", ITEM_ID], [False, False, True], k)
    return top.loc[:, list(HABITUAL_COLUMNS)]


def _unit_margin(catalog: pd.DataFrame) -> pd.Series:
    info = catalog.set_index(ITEM_ID)
    return (
        pd.to_numeric(info[PRICE], errors="coerce") * pd.to_numeric(info[MARGIN_RATE], errors="coerce")
    ).astype("float64")


def _never_bought(stats: CategoryStats) -> pd.DataFrame:
    """Every (member, eligible category) pair the member never bought before the cutoff."""
    members = pd.DataFrame({MEMBER_ID: pd.unique(stats.member_categories[MEMBER_ID])})
    cats = pd.DataFrame({CATEGORY: stats.eligible.to_numpy()})
    pairs = members.merge(cats, how="cross")
    bought = stats.member_categories.assign(_bought=True)
    pairs = pairs.merge(bought, on=[MEMBER_ID, CATEGORY], how="left")
    return pairs[pairs["_bought"].isna()].drop(columns="_bought").reset_index(drop=True)


def _finish_stretch(pairs: pd.DataFrame, stats: CategoryStats, catalog: pd.DataFrame, k: int) -> pd.DataFrame:
    """Rank ``pairs`` (with ``score`` and ``order``) per member and add the suggested item and margin."""
    top = _top_k(pairs, ["order", CATEGORY], [False, True], k)
    item = top[CATEGORY].map(stats.suggested_item)
    margin = item.map(_unit_margin(catalog)).astype("float64")
    top = top.assign(suggested_item_id=item, expected_margin=top["score"] * margin)
    return top.loc[:, list(STRETCH_COLUMNS)]


def popular_stretch(stats: CategoryStats, catalog: pd.DataFrame, *, k: int) -> pd.DataFrame:
    """Popularity among non-buyers: the ``k`` never-bought categories with the highest adoption hazard."""
    pairs = _never_bought(stats)
    score = pairs[CATEGORY].map(stats.adoption).astype("float64")
    return _finish_stretch(pairs.assign(score=score, order=score), stats, catalog, k=k)


def cooc_stretch(stats: CategoryStats, catalog: pd.DataFrame, *, k: int) -> pd.DataFrame:
    """Category co-occurrence: adoption hazard times the member's mean lift towards the category.

    For a member buying categories ``S`` and a candidate ``j``, lift = mean over ``i`` in ``S`` of
    ``P(j | i) / P(j)`` (buyers of ``i`` who also buy ``j``, against all members), so categories that
    people with the member's basket tend to buy rise above merely popular ones.
    """
    mc = stats.member_categories
    member_idx = pd.Index(pd.unique(mc[MEMBER_ID]))
    cat_idx = pd.Index(pd.unique(mc[CATEGORY]))
    rows = member_idx.get_indexer(mc[MEMBER_ID])
    cols = cat_idx.get_indexer(mc[CATEGORY])
    owned = np.zeros((len(member_idx), len(cat_idx)), dtype="float64")
    owned[rows, cols] = 1.0
    co = owned.T @ owned  # co[i, j] = members buying both i and j
    n_i = np.diag(co).copy()
    p_j = n_i / max(len(member_idx), 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = np.nan_to_num((co / n_i[:, None]) / p_j[None, :])
    mean_lift = (owned @ lift) / owned.sum(axis=1, keepdims=True)

    pairs = _never_bought(stats)
    member_lift = mean_lift[member_idx.get_indexer(pairs[MEMBER_ID]), cat_idx.get_indexer(pairs[CATEGORY])]
    score = (pairs[CATEGORY].map(stats.adoption).to_numpy(dtype="float64") * member_lift).clip(0.0, 1.0)
    return _finish_stretch(pairs.assign(score=score, order=score), stats, catalog, k=k)


def random_stretch(stats: CategoryStats, catalog: pd.DataFrame, *, k: int, seed: int) -> pd.DataFrame:
    """A random eligible never-bought category per member (seeded), scored by its adoption hazard."""
    pairs = _never_bought(stats)
    rng = np.random.default_rng(seed)
    score = pairs[CATEGORY].map(stats.adoption).astype("float64")
    return _finish_stretch(pairs.assign(score=score, order=rng.random(len(pairs))), stats, catalog, k=k)


def replace_candidates(
    artifact: CandidateArtifact,
    catalog: pd.DataFrame,
    *,
    name: str,
    habitual: pd.DataFrame | None = None,
    stretch: pd.DataFrame | None = None,
) -> CandidateArtifact:
    """``artifact`` with its habitual and/or stretch table replaced, every other table kept.

    The ``items`` table is extended with the catalog rows of any item the new tables name, so the rules
    can price every pick. The model version becomes ``name`` so challenges say which policy made them.
    """
    habitual = artifact.habitual if habitual is None else habitual
    stretch = artifact.stretch if stretch is None else stretch
    named = pd.Index(pd.concat([habitual[ITEM_ID], stretch["suggested_item_id"]]).dropna().unique())
    missing = named.difference(pd.Index(artifact.items[ITEM_ID]))
    extra = catalog[catalog[ITEM_ID].isin(missing)].loc[:, list(TABLES["items"])]
    items = pd.concat([artifact.items, extra], ignore_index=True) if len(extra) else artifact.items
    manifest = replace(artifact.manifest, model_version=name, metrics=None)
    return replace(artifact, manifest=manifest, habitual=habitual, stretch=stretch, items=items)
