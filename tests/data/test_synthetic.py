"""The synthetic generator: schema, determinism, repeat buying, category adoption and tiers."""

from __future__ import annotations

import pandas as pd

from engine.data import schema as s
from engine.data.schema import Dataset
from engine.data.synthetic import SyntheticConfig, generate_synthetic


def test_schema_matches_the_loaders(synthetic_dataset: Dataset) -> None:
    ds = synthetic_dataset
    assert tuple(ds.transactions.columns) == (*s.TRANSACTION_COLUMNS, *s.TRANSACTION_PRICE_COLUMNS)
    assert tuple(ds.catalog.columns) == (*s.CATALOG_COLUMNS, s.PRICE_DERIVED)
    # the synthetic source has no loyalty discount, no promotions and prices of its own
    assert (ds.transactions[s.RETAIL_DISC] == 0).all()
    assert not ds.transactions[s.ON_PROMOTION].any()
    assert not ds.catalog[s.PRICE_DERIVED].any()
    assert ds.promotions is None
    assert tuple(ds.members.columns) == s.MEMBER_COLUMNS
    assert ds.transactions[s.TIMESTAMP].dtype == "datetime64[ns]"
    assert ds.transactions[s.ITEM_ID].isin(ds.catalog[s.ITEM_ID]).all()
    assert len(ds.members) == 200
    assert len(ds.catalog) == 300
    assert ds.n_weeks == 20
    assert ds.dropped == ()
    assert set(ds.members[s.TIER]) == set(s.TIERS)


def test_fixed_seed_gives_identical_output() -> None:
    a, b = generate_synthetic(50, 60, 5, seed=11), generate_synthetic(50, 60, 5, seed=11)
    pd.testing.assert_frame_equal(a.transactions, b.transactions)
    pd.testing.assert_frame_equal(a.catalog, b.catalog)
    pd.testing.assert_frame_equal(a.members, b.members)
    c = generate_synthetic(50, 60, 5, seed=12)
    assert not a.transactions.equals(c.transactions)


def test_chunks_do_not_change_the_schema() -> None:
    ds = generate_synthetic(50, 60, 5, seed=1, config=SyntheticConfig(chunk_size=7))
    assert ds.members[s.MEMBER_ID].tolist() == list(range(1, 51))
    assert ds.transactions[s.BASKET_ID].nunique() == ds.transactions.groupby([s.MEMBER_ID, s.WEEK]).ngroups


def test_members_buy_the_same_items_again(synthetic_dataset: Dataset) -> None:
    weeks_per_pair = synthetic_dataset.transactions.groupby([s.MEMBER_ID, s.ITEM_ID])[s.WEEK].nunique()
    repeaters = weeks_per_pair[weeks_per_pair >= 4].reset_index()[s.MEMBER_ID].nunique()
    assert repeaters >= 0.8 * len(synthetic_dataset.members)


def test_members_adopt_new_categories_over_time(synthetic_dataset: Dataset) -> None:
    tx = synthetic_dataset.transactions.merge(
        synthetic_dataset.catalog[[s.ITEM_ID, s.CATEGORY]], on=s.ITEM_ID
    )
    first = tx.groupby([s.MEMBER_ID, s.CATEGORY])[s.WEEK].min()
    late = first[first > 10]
    assert late.reset_index()[s.MEMBER_ID].nunique() >= 0.3 * len(synthetic_dataset.members)


def test_higher_tiers_spend_more(synthetic_dataset: Dataset) -> None:
    median = synthetic_dataset.members.groupby(s.TIER)[s.SPEND_52W].median()
    assert median["bronze"] < median["silver"] < median["diamond"]
    assert median["bronze"] < median["gold"] < median["diamond"]
