"""Member ids: one canonical form per member, bounded, the same validation on every route."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from engine.experiments.store import SqliteEventStore
from engine.serve.app import create_app
from engine.serve.member_ids import check_member_id
from engine.serve.settings import Settings
from tests.serve.conftest import WEEK, LiveServer, make_settings
from tests.serve.test_experiments import DEFINITION, EXPERIMENT, experiment_settings

#: Forms that are not a member's canonical id: leading zeros, out of range, control characters.
REFUSED = [
    "01",
    "001",
    "0007",
    "18446744073709551616",  # 2**64: once a 500 and a reset connection
    "9999999999999999999",  # 19 digits: beyond every id the data can hold
    "7%0A",  # as written in a URL: the fast path used to take it as member "7\n"
    "x" * 65,
]


@pytest.mark.parametrize("raw", ["0", "1", "7", "123456789012345678", "A-17", "007x", "m.1_2"])
def test_canonical_ids_are_accepted_unchanged(raw: str) -> None:
    assert check_member_id(raw) == raw


@pytest.mark.parametrize("raw", [r.replace("%0A", "\n") for r in REFUSED] + ["", "a b", "é"])
def test_other_ids_are_refused_with_the_reason(raw: str) -> None:
    with pytest.raises(ValueError, match="member id"):
        check_member_id(raw)


@pytest.mark.parametrize("raw", REFUSED)
def test_every_route_refuses_a_non_canonical_id_with_422(shared_live: LiveServer, raw: str) -> None:
    with shared_live.client() as client:
        answers = {
            "fast path": client.get(f"/v1/members/{raw}/challenge"),
            "fast path, week": client.get(f"/v1/members/{raw}/challenge", params={"week": WEEK}),
            "routed": client.get(f"/v1/members/{raw}/challenge?week={WEEK}&week={WEEK}"),
            "batch": client.post("/v1/challenges:batch", json={"member_ids": ["1", raw], "week": WEEK}),
            "preview": client.get(f"/v1/members/{raw}/challenge:preview", params={"week": WEEK}),
            "progress": client.get(f"/v1/members/{raw}/progress", params={"week": WEEK}),
        }
        # The connection survived every refusal (a 500 used to reset it).
        assert client.get("/v1/members/1/challenge", params={"week": WEEK}).status_code == 200
    for route, answer in answers.items():
        assert answer.status_code == 422, (route, answer.text)
        assert answer.json()["error"] == "BadRequest", route
        assert "member" in answer.text, route


def test_leading_zeros_never_make_a_second_member(shared_live: LiveServer) -> None:
    with shared_live.client() as client:
        one = client.get("/v1/members/3/challenge", params={"week": WEEK})
        again = [client.get(f"/v1/members/{z}/challenge", params={"week": WEEK}) for z in ("03", "003")]
        counters = client.get("/v1/admin/counters").json()["counters"]
    assert one.status_code == 200
    assert [a.status_code for a in again] == [422, 422]
    assert "write it as '3'" in again[0].json()["detail"]
    assert counters.get(f"decisions:w{WEEK}") == counters.get("decisions")  # no other week touched


@pytest.fixture
def capped(artifact_root: Path, rules_path: Path, tmp_path: Path) -> Iterator[tuple[LiveServer, Path]]:
    """An experiment running and at most 3 stored cold-start challenges a week."""
    definition = tmp_path / f"{EXPERIMENT}.toml"
    definition.write_text(DEFINITION)
    db = tmp_path / "events.sqlite3"
    settings: Settings = experiment_settings(
        artifact_root,
        rules_path,
        definition,
        db,
        issuance={"retention_days": 35, "history_retention_days": 365, "cold_start_per_week": 3},
    )
    with LiveServer(create_app(settings)) as server:
        yield server, db


def test_unknown_members_are_bounded_and_never_exposed(capped: tuple[LiveServer, Path]) -> None:
    live, db = capped
    unknown = [f"new{i}" for i in range(6)]
    with live.client() as client:
        known = client.get("/v1/members/2/challenge", params={"week": WEEK}).json()
        first = client.post("/v1/challenges:batch", json={"member_ids": unknown, "week": WEEK}).json()
        again = client.post("/v1/challenges:batch", json={"member_ids": unknown, "week": WEEK}).json()
        counters = client.get("/v1/admin/counters").json()["counters"]
    bodies = first["challenges"]
    assert known["arm"] is not None  # a member the model knows is in the experiment ...
    assert all(
        b["cold_start"] and b["arm"] is None and b["experiment"] is None for b in bodies
    )  # ... others not
    stored = [b for b in bodies if b["reason_code"] != "cold_start_cap"]
    assert len(stored) == 3  # the week's cap
    assert [b["reason_code"] for b in bodies[3:]] == ["cold_start_cap"] * 3
    assert all(b["status"] == "no_offer" for b in bodies[3:])
    assert again["challenges"][:3] == bodies[:3]  # stored ones are stable
    assert counters["cold_start"] == 3  # refusals beyond the cap stored nothing
    assert counters["decisions"] == 4
    with SqliteEventStore(db) as store:
        exposures = store.table("exposures")
    assert list(exposures["member_id"]) == ["2"]


def test_the_cap_is_per_week(artifact_root: Path, rules_path: Path) -> None:
    settings = make_settings(
        artifact_root,
        rules_path,
        issuance={"retention_days": 35, "history_retention_days": 365, "cold_start_per_week": 1},
    )
    with LiveServer(create_app(settings)) as live, httpx.Client(base_url=live.url) as client:
        a = client.get("/v1/members/new1/challenge", params={"week": WEEK}).json()
        b = client.get("/v1/members/new2/challenge", params={"week": WEEK}).json()
        c = client.get("/v1/members/new2/challenge", params={"week": WEEK + 1}).json()
    assert (a["reason_code"], b["reason_code"]) != ("cold_start_cap", "cold_start_cap")
    assert b["reason_code"] == "cold_start_cap"
    assert c["reason_code"] != "cold_start_cap"
