"""The members file's optional profile columns: checked, kept through tiers and into the artifact record."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from engine.artifact import OPTIONAL_TEXT_COLUMNS
from engine.candidates import MemberCandidates, MemberProfile, member_profiles
from engine.data.profiles import clean_profiles, with_profiles
from engine.data.schema import PROFILE_COLUMNS
from engine.errors import DataValidationError

RAW = pd.DataFrame(
    {
        "member_id": ["1", "2", "3", "4"],
        "name": ["  Sara  ", "نرگس\u200cبانو", "bad\u202ename", None],
        "language": ["EN_us", "fa", "not a tag!", ""],
        "time_zone": ["America/Chicago", "Asia/Tehran", "Mars/Olympus", None],
    }
)


def test_valid_values_are_normalised_and_invalid_ones_cleared_and_reported() -> None:
    columns, notes = clean_profiles(RAW, "members.csv", "report")
    assert list(columns["name"]) == ["Sara", "نرگس\u200cبانو", None, None]
    assert list(columns["language"]) == ["en-us", "fa", None, None]
    assert list(columns["time_zone"]) == ["America/Chicago", "Asia/Tehran", None, None]
    assert {n.reason.split(":")[0]: n.rows for n in notes} == {"name": 1, "language": 1, "time_zone": 1}
    assert "Mars/Olympus" in next(n for n in notes if n.reason.startswith("time_zone")).examples


def test_invalid_values_raise_under_the_error_policy() -> None:
    with pytest.raises(DataValidationError, match=r"members\.csv: column 'name': 1 row"):
        clean_profiles(RAW, "members.csv", "error")


def test_profiles_reach_the_member_record() -> None:
    columns, _ = clean_profiles(RAW, "members.csv", "report")
    given = pd.DataFrame({"member_id": [1, 2, 3, 4], **{k: v.to_numpy() for k, v in columns.items()}})
    built = pd.DataFrame({"member_id": [2, 1, 5], "tier": ["gold", "bronze", "bronze"]})
    joined = with_profiles(built, given)
    profiles = member_profiles(joined, 4)
    assert profiles == [
        MemberProfile("نرگس\u200cبانو", "fa", "Asia/Tehran"),
        MemberProfile("Sara", "en-us", "America/Chicago"),
        None,
        None,
    ]
    record = MemberCandidates(2, "gold", (), (), frozenset(), profile=profiles[0])
    assert MemberCandidates.from_json(record.to_json()) == record
    assert "p" not in MemberCandidates(5, "bronze", (), (), frozenset()).to_dict()


def test_the_artifact_writes_the_schema_profile_columns() -> None:
    assert OPTIONAL_TEXT_COLUMNS["members"] == PROFILE_COLUMNS


def test_files_loader_keeps_profiles(tmp_path: Path) -> None:
    from engine.data.config import DataConfig, FilesSource
    from engine.data.loaders import load_dataset

    tx = pd.DataFrame(
        {
            "member_id": ["1", "2"],
            "item_id": ["a", "b"],
            "basket_id": ["x", "y"],
            "week": [1, 1],
            "quantity": [1.0, 1.0],
            "sales_value": [2.0, 3.0],
        }
    )
    catalog = pd.DataFrame(
        {"item_id": ["a", "b"], "name": ["A", "B"], "category": ["C", "C"], "department": ["D", "D"]}
    )
    tx.to_csv(tmp_path / "tx.csv", index=False)
    catalog.to_csv(tmp_path / "catalog.csv", index=False)
    RAW.loc[:1].rename(columns={"name": "first_name"}).to_csv(tmp_path / "members.csv", index=False)
    source = FilesSource(
        type="files",
        format="csv",
        transactions=tmp_path / "tx.csv",
        catalog=tmp_path / "catalog.csv",
        members=tmp_path / "members.csv",
        columns={"members": {"first_name": "name"}},  # type: ignore[arg-type]
    )
    data = load_dataset(DataConfig(source=source))
    members = data.members.set_index(data.members["member_id"].astype(str))
    assert members.loc["2", "name"] == "نرگس\u200cبانو"
    assert members.loc["1", "time_zone"] == "America/Chicago"
