"""``offers challenges`` prints the member-facing issuance shares and keeps its file's columns."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from engine.artifact import write_artifact
from engine.challenge import FRAME_COLUMNS
from engine.cli import app
from tests.strategies import artifact_from, item
from tests.test_challenge import ITEMS, _member


def test_summary_gives_issued_shares_per_tier_and_of_active_members(tmp_path: Path) -> None:
    members = [
        _member([(1, 0.5), (2, 0.4)], [("SALAD", 4, 0.1)], member_id=1, tier="bronze"),
        _member([(1, 0.6), (3, 0.4)], [("LUNCH", 5, 0.2)], member_id=2, tier="gold"),
        _member([(2, 0.3), (3, 0.3)], [("SALAD", 4, 0.05)], member_id=3, tier="silver"),
        # no candidates: never issued
        _member([], [], member_id=4, tier="diamond"),
    ]
    artifact = artifact_from([*ITEMS, item(8, "X")], members)
    # member 3 last bought in week 1: not active in the 8 weeks before week 10
    last = artifact.members.assign(last_week=[9, 9, 1, 9])
    directory = write_artifact(replace(artifact, members=last), tmp_path / "art")
    out = tmp_path / "c.parquet"
    result = CliRunner().invoke(
        app, ["challenges", "--as-of", "10", "--out", str(out), "--artifact", str(directory)]
    )
    assert result.exit_code == 0, result.output

    frame = pd.read_parquet(out)
    assert tuple(frame.columns[: len(FRAME_COLUMNS)]) == FRAME_COLUMNS
    issued = frame.set_index("member_id")["status"].eq("issued")
    assert not issued[4]  # no candidates

    def share(members: list[int]) -> str:
        n = int(issued[members].sum())
        return f"{n / len(members):.1%} ({n}/{len(members)})"

    # one member per tier; gold and diamond are members 2 and 4; active: members 1, 2 and 4 (not 3)
    expected = (
        f"issued by tier: bronze {share([1])}, silver {share([3])}, gold {share([2])}, diamond 0.0% (0/1); "
        f"gold and diamond {share([2, 4])}; members active in the last 8 weeks {share([1, 2, 4])}"
    )
    assert expected in " ".join(result.stderr.split())
