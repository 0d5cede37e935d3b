"""Segments as data: each condition kind at its boundary, several segments per member, validation errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from engine.config import CONFIG_DIR, parse_config
from engine.errors import ConfigError
from engine.loyalty import (
    LadderConfig,
    LoyaltyInputs,
    SegmentsFile,
    assign_segments,
    load_segments,
    loyalty_table,
    member_features,
    segment_counts,
)

CATALOG = pd.DataFrame({"item_id": [1, 2], "department": ["PRODUCE", "GROCERY"]})


def _inputs() -> LoyaltyInputs:
    # member 1: 3 produce + 1 grocery in weeks 8-9; member 2: grocery only, last in week 2; member 3: none
    tx = pd.DataFrame(
        {
            "member_id": [1, 1, 2, 2],
            "basket_id": [1, 2, 3, 4],
            "week": [8, 9, 1, 2],
            "item_id": [1, 2, 2, 2],
            "sales_value": [3.0, 1.0, 5.0, 5.0],
        }
    )
    members = pd.DataFrame({"member_id": [1, 2, 3], "tier": ["gold", "bronze", "bronze"]})
    demo = pd.DataFrame({"member_id": [1], "kids_count": ["2"]})
    return LoyaltyInputs(tx, CATALOG, members, demographics=demo)


def _segments(*segments: dict[str, object]) -> SegmentsFile:
    return SegmentsFile.model_validate({"version": "t1", "window_weeks": 52, "segments": list(segments)})


def _members_in(segments: SegmentsFile, as_of: int = 10) -> dict[int, tuple[str, ...]]:
    features = member_features(
        _inputs(), as_of, segments.window_weeks, 4, departments=["PRODUCE"], demographics=["kids_count"]
    ).assign(stage=["loyal", "repeat", "suspect"])
    return assign_segments(features, segments).to_dict()


@pytest.mark.parametrize(
    ("condition", "members"),
    [
        ({"field": "weeks_since_last", "op": "<=", "value": 1}, [1]),  # 10 - 9 = 1: boundary included
        ({"field": "weeks_since_last", "op": "<", "value": 1}, []),
        ({"field": "weeks_since_last", "op": ">=", "value": 8}, [2]),  # member 3 never bought: unknown
        ({"field": "spend", "op": ">=", "value": 10.0}, [2]),
        ({"field": "baskets", "op": "==", "value": 2}, [1, 2]),
        ({"field": "share:PRODUCE", "op": ">=", "value": 0.75}, [1]),
        ({"field": "share:PRODUCE", "op": ">", "value": 0.75}, []),
        ({"field": "tier", "op": "in", "value": ["gold", "diamond"]}, [1]),
        ({"field": "stage", "op": "!=", "value": "loyal"}, [2, 3]),
        ({"field": "demo:kids_count", "op": "in", "value": ["1", "2"]}, [1]),
        ({"field": "demo:kids_count", "op": "not_in", "value": ["2"]}, [2, 3]),
        ({"field": "has_profile", "op": "==", "value": True}, [1]),
    ],
)
def test_each_condition_kind(condition: dict[str, object], members: list[int]) -> None:
    got = _members_in(_segments({"name": "s", "conditions": [condition]}))
    assert [m for m, names in got.items() if "s" in names] == members


def test_member_in_several_segments_listed_in_file_order() -> None:
    segs = _segments(
        {"name": "everyone"},
        {"name": "gold", "conditions": [{"field": "tier", "op": "==", "value": "gold"}]},
        {"name": "recent", "conditions": [{"field": "weeks_since_last", "op": "<=", "value": 2}]},
    )
    got = _members_in(segs)
    assert got == {1: ("everyone", "gold", "recent"), 2: ("everyone",), 3: ("everyone",)}
    assert segment_counts(pd.Series(got), segs) == {"everyone": 3, "gold": 1, "recent": 1}


def test_window_excludes_old_purchases_from_spend() -> None:
    segs = SegmentsFile.model_validate(
        {
            "version": "t",
            "window_weeks": 5,
            "segments": [{"name": "spender", "conditions": [{"field": "spend", "op": ">", "value": 0}]}],
        }
    )
    assert _members_in(segs) == {1: ("spender",), 2: (), 3: ()}


@pytest.mark.parametrize(
    ("segment", "message"),
    [
        (
            {"name": "x", "conditions": [{"field": "colour", "op": "==", "value": "red"}]},
            "segment 'x': conditions\\[0\\]: field 'colour' is not known",
        ),
        (
            {"name": "y", "conditions": [{"field": "spend", "op": ">", "value": "lots"}]},
            "segment 'y'.*field 'spend' is numeric",
        ),
        (
            {"name": "z", "conditions": [{"field": "tier", "op": ">", "value": "gold"}]},
            "segment 'z'.*field 'tier' is not numeric",
        ),
        (
            {"name": "w", "conditions": [{"field": "stage", "op": "==", "value": "fan"}]},
            "segment 'w'.*'fan' is not among",
        ),
        (
            {"name": "v", "conditions": [{"field": "tier", "op": "in", "value": "gold"}]},
            "segment 'v'.*needs a list",
        ),
        ({"name": "Bad Name"}, "segments.0.name"),
    ],
)
def test_validation_errors_name_segment_and_field(segment: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        parse_config({"version": "1", "segments": [segment]}, SegmentsFile, "my_segments.toml")
    assert info.value.message.startswith("my_segments.toml")


def test_bad_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "segments.toml"
    path.write_text(
        'version = "1"\n[[segments]]\nname = "a"\nconditions = [{ field = "spend", op = "~", value = 1 }]\n'
    )
    with pytest.raises(ConfigError, match=r"segments\.0\.conditions\.0\.op") as info:
        load_segments(path)
    assert str(path) in info.value.message


def test_duplicate_names_refused() -> None:
    with pytest.raises(ValueError, match=r"\['a'\] appear more than once"):
        _segments({"name": "a"}, {"name": "a"})


def test_shipped_segments_and_table() -> None:
    segs = load_segments(CONFIG_DIR / "segments.toml")
    assert segs.names[:3] == ("reached", "active_12m", "one_to_one")
    table = loyalty_table(_inputs(), 10, LadderConfig(advocate_min_coupon_redemptions=0), segs)
    assert table["segments"].iloc[0].startswith("reached,active_12m")
    assert set(table["stage"]) <= {"loyal", "repeat", "advocate", "first_time", "suspect", "prospect"}
    assert table["segments_version"].iloc[0].startswith("2024.1+")
