"""The per-member view of the candidate artifact: grouping, serialisation, cold start, catalog."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import orjson
import pandas as pd
import pytest

from engine.artifact import OPTIONAL_COLUMNS, TABLES, read_artifact, write_artifact
from engine.candidates import (
    ITEM_DEFAULTS,
    Catalog,
    HabitualCandidate,
    ItemInfo,
    MemberCandidates,
    StretchCandidate,
    cold_start_candidates,
    iter_member_candidates,
)
from engine.errors import ArtifactError
from tests.strategies import artifact_from, item


@pytest.fixture
def members() -> list[MemberCandidates]:
    return [
        MemberCandidates(
            1,
            "gold",
            (HabitualCandidate(10, 0.5, 4, 9), HabitualCandidate(11, 0.3, 3, None)),
            (StretchCandidate("SALAD", 0.1, 20, 0.12),),
            frozenset({"A", "B"}),
        ),
        MemberCandidates(2, "bronze", (HabitualCandidate(11, 0.2, 2, 7),), (), frozenset({"A"})),
        MemberCandidates(3, "silver", (), (), frozenset()),
    ]


@pytest.fixture
def items() -> list:
    return [item(10, "A"), item(11, "A"), item(12, "B"), item(20, "SALAD")]


def test_grouping_keeps_rank_order_and_every_member(items: list, members: list[MemberCandidates]) -> None:
    artifact = artifact_from(items, members)
    # shuffle the long tables: grouping must not rely on their row order
    artifact = artifact.__class__(
        **{**artifact.__dict__, "habitual": artifact.habitual.sample(frac=1.0, random_state=3)}
    )
    assert list(iter_member_candidates(artifact)) == members


def test_member_only_in_candidates_gets_entry_tier(items: list, members: list[MemberCandidates]) -> None:
    artifact = artifact_from(items, members)
    extra = pd.DataFrame(
        {"member_id": [99], "item_id": [12], "score": [0.4], "n_baskets": [1], "last_week": [3.0]}
    )
    extra["rank"] = 1
    artifact = artifact.__class__(
        **{**artifact.__dict__, "habitual": pd.concat([artifact.habitual, extra], ignore_index=True)}
    )
    out = {m.member_id: m for m in iter_member_candidates(artifact)}
    assert out[99].tier == "bronze"
    assert out[99].habitual == (HabitualCandidate(12, 0.4, 1, 3),)


def test_ids_keep_their_python_type(items: list, members: list[MemberCandidates]) -> None:
    first = next(iter_member_candidates(artifact_from(items, members)))
    assert type(first.member_id) is int
    assert type(first.habitual[0].item_id) is int
    assert type(first.stretch[0].suggested_item_id) is int


def test_json_round_trip_including_nan(members: list[MemberCandidates]) -> None:
    for m in members:
        assert MemberCandidates.from_json(m.to_json()) == m
    odd = MemberCandidates("m-1", "gold", (HabitualCandidate("x", math.nan, 1, 2),), (), frozenset())
    back = MemberCandidates.from_json(odd.to_json())
    assert back.member_id == "m-1"
    assert math.isnan(back.habitual[0].score)


def test_malformed_record_is_an_artifact_error() -> None:
    with pytest.raises(ArtifactError, match="malformed"):
        MemberCandidates.from_dict({"m": 1, "t": "gold"})
    with pytest.raises(ArtifactError, match="not valid JSON"):
        MemberCandidates.from_json(b"{nope")


def test_cold_start_uses_popular_lists(items: list, members: list[MemberCandidates]) -> None:
    artifact = artifact_from(items, members)
    cold = cold_start_candidates(artifact, 12345)
    assert cold.tier == "bronze"
    assert [c.item_id for c in cold.habitual] == [10, 11, 12]
    assert all(c.n_baskets == 0 and c.last_week is None for c in cold.habitual)
    assert cold.stretch[0].category == "SALAD"
    assert cold.stretch[0].expected_margin == pytest.approx(0.05 * 3.0 * 0.3)
    assert cold_start_candidates(artifact, 1).tier == "gold"


def test_catalog_lookup_and_missing_item(items: list) -> None:
    catalog = Catalog.from_frame(artifact_from(items, []).items)
    assert catalog[10].unit_margin == pytest.approx(0.9)
    assert 99 not in catalog
    assert catalog.get(99) is None
    with pytest.raises(ArtifactError, match="99"):
        catalog[99]


def test_catalog_refuses_missing_columns() -> None:
    with pytest.raises(ArtifactError, match="missing columns"):
        Catalog.from_frame(pd.DataFrame({"item_id": [1]}))


def test_item_fields_added_later_follow_the_catalog_columns_in_order() -> None:
    # Catalog.from_frame builds ItemInfo positionally: the optional fields must keep this order
    fields = list(ItemInfo.__dataclass_fields__)
    assert fields[7:] == list(ITEM_DEFAULTS)
    assert list(ITEM_DEFAULTS) == list(OPTIONAL_COLUMNS["items"])


def test_catalog_reads_price_and_habit_columns_or_their_defaults(items: list) -> None:
    frame = pd.DataFrame([i.to_dict() for i in items])
    old = Catalog.from_frame(
        frame.loc[:, ["item_id", "name", "category", "department", "price", "margin_rate", "excluded"]]
    )
    first = old[items[0].item_id]
    assert first.promo_store_share == 0.0
    assert first.repeat_margin == 0.0
    assert math.isnan(first.unit_cost)
    assert math.isnan(first.adopter_spend)  # unknown in an older artifact
    new = frame.assign(
        shelf_price=4.0,
        unit_cost=2.5,
        promo_discount_share=0.2,
        promo_store_share=[0.9] + [None] * (len(frame) - 1),
        repeat_margin=1.25,
        adopter_spend=7.5,
    )
    catalog = Catalog.from_frame(new)
    first = catalog[items[0].item_id]
    assert first.adopter_spend == 7.5
    assert (first.shelf_price, first.unit_cost, first.promo_store_share, first.repeat_margin) == (
        4.0,
        2.5,
        0.9,
        1.25,
    )
    # 20% of 4.00 is 0.80 of the 1.50 shelf margin
    assert first.promo_margin_left == pytest.approx(1 - 0.8 / 1.5)
    assert catalog[items[1].item_id].promo_store_share == 0.0  # empty cell: no promotion known


def test_item_json_round_trip_reads_null_as_nan() -> None:
    info = item(5, "CAT1", price=math.nan)
    back = ItemInfo(**orjson.loads(orjson.dumps(info.to_dict())))
    assert math.isnan(back.price)
    assert math.isnan(back.shelf_price)
    assert math.isnan(back.promo_margin_left)


def test_artifact_without_the_new_columns_still_loads(
    tmp_path: Path, items: list, members: list[MemberCandidates]
) -> None:
    artifact = artifact_from(items, members)
    old = replace(artifact, items=artifact.items.loc[:, list(TABLES["items"])])
    read = read_artifact(write_artifact(old, tmp_path / "old"))
    assert read.categories.empty
    assert (read.items["promo_store_share"] == 0.0).all()
    assert read.items["shelf_price"].isna().all()
    assert read.items["adopter_spend"].isna().all()
    habits = pd.DataFrame(
        {
            "category": ["CAT1"],
            "department": ["GROCERY"],
            "adopters": [3],
            "repeat_margin": [2.5],
            "repeat_share": [0.5],
        }
    )
    new = replace(
        artifact, items=artifact.items.assign(promo_store_share=0.75, adopter_spend=6.0), categories=habits
    )
    read = read_artifact(write_artifact(new, tmp_path / "new"))
    pd.testing.assert_frame_equal(read.categories, habits)
    assert (read.items["promo_store_share"] == 0.75).all()
    assert (read.items["adopter_spend"] == 6.0).all()
