"""Stage and segments travel with the member: artifact table, member records, JSON; bad ones refused."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from engine.artifact import read_artifact, write_artifact
from engine.candidates import (
    HabitualCandidate,
    MemberCandidates,
    cold_start_candidates,
    iter_member_candidates,
)
from engine.errors import ArtifactError, InvalidArtifact
from tests.strategies import artifact_from, item

MEMBERS = [
    MemberCandidates(
        1,
        "gold",
        (HabitualCandidate(10, 0.5, 4, 9),),
        (),
        frozenset({"A"}),
        stage="loyal",
        segments=("reached", "vip"),
    ),
    MemberCandidates(2, "bronze", (), (), frozenset(), stage="first_time", segments=()),
    MemberCandidates(3, "silver", (), (), frozenset()),
]
ITEMS = [item(10, "A"), item(11, "A"), item(12, "B"), item(20, "SALAD")]


def test_artifact_round_trip_carries_stage_and_segments(tmp_path: Path) -> None:
    read = read_artifact(write_artifact(artifact_from(ITEMS, MEMBERS), tmp_path / "a"))
    got = {m.member_id: (m.stage, m.segments) for m in iter_member_candidates(read)}
    assert got == {1: ("loyal", ("reached", "vip")), 2: ("first_time", ()), 3: (None, ())}
    assert cold_start_candidates(read, 1).stage == "loyal"
    assert cold_start_candidates(read, 99).stage is None


def test_member_record_json_round_trip() -> None:
    for member in MEMBERS:
        assert MemberCandidates.from_json(member.to_json()) == member
    assert b'"g"' not in MEMBERS[2].to_json()  # records without a stage stay as they were


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (b'{"m":1,"t":"gold","h":[],"s":[],"b":[],"g":"fan"}', "stage 'fan' is not one of"),
        (b'{"m":1,"t":"gold","h":[],"s":[],"b":[],"sg":["Bad Name"]}', "not a list of segment names"),
    ],
)
def test_bad_record_refused(record: bytes, message: str) -> None:
    with pytest.raises(ArtifactError, match=message):
        MemberCandidates.from_json(record)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"member_id": [1], "stage": ["fan"], "segments": [""], "segments_version": ["t"]}, "column 'stage'"),
        (
            {"member_id": [1], "stage": ["loyal"], "segments": ["a,B c"], "segments_version": ["t"]},
            "column 'segments'",
        ),
        (
            {
                "member_id": [1, 1],
                "stage": ["loyal"] * 2,
                "segments": [""] * 2,
                "segments_version": ["t"] * 2,
            },
            "column .member_id.: 1 duplicate",
        ),
    ],
)
def test_bad_loyalty_table_refused_on_load(
    tmp_path: Path, table: dict[str, list[object]], message: str
) -> None:
    bad = replace(artifact_from(ITEMS, MEMBERS), member_loyalty=pd.DataFrame(table))
    with pytest.raises(InvalidArtifact, match=f"member_loyalty.parquet: {message}"):
        read_artifact(write_artifact(bad, tmp_path / "bad"))
