"""Read-only look-up: what a member would get this week, with the explanation, and nothing written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.experiments.definition import ExperimentDefinition
from engine.experiments.store import SqliteEventStore
from engine.serve.settings import Settings
from tests.serve.conftest import WEEK, LiveServer, new_store, run, write_rules
from tests.serve.test_experiments import (  # noqa: F401 (fixtures)
    definition,
    definition_path,
    events_db,
    exp_live,
    exp_settings,
    member_in,
)

Json = dict[str, Any]
PREVIEW = "/v1/members/{member}/challenge:preview"
#: What an issued answer and its preview share (``issued_at`` is when each was made).
SAME = ("member_id", "week", "status", "reason_code", "habitual", "stretch", "reward", "explanation", "arm")


def _store_state(settings: Settings, members: list[str]) -> tuple[object, ...]:
    """Every trace an issuance leaves in the online store: counters, budget, issued records, history."""
    store = new_store(settings)

    async def read() -> tuple[object, ...]:
        try:
            issued = [await store.get_issued(WEEK, m) for m in members]
            history = [await store.get_history(m) for m in members]
            return (await store.counters(), await store.budget_spent(WEEK), issued, history)
        finally:
            await store.close()

    state: tuple[object, ...] = run(read())
    return state


def _embedded_state(live: LiveServer, members: list[str]) -> tuple[object, ...]:
    store = live.server.config.app.state.serve.store

    async def read() -> tuple[object, ...]:
        issued = [await store.get_issued(WEEK, m) for m in members]
        history = [await store.get_history(m) for m in members]
        return (await store.counters(), await store.budget_spent(WEEK), issued, history)

    state: tuple[object, ...] = run(read())
    return state


def test_preview_writes_nothing_and_matches_the_later_issuance(
    live: LiveServer, server_settings: Settings, store_kind: str
) -> None:
    members = ["3", "4", "new-member"]

    def state() -> tuple[object, ...]:
        if store_kind == "embedded":
            return _embedded_state(live, members)
        return _store_state(server_settings, members)

    with live.client() as client:
        client.get("/v1/members/1/challenge", params={"week": WEEK})  # something already spent
        before = state()
        previews = [client.get(PREVIEW.format(member=m), params={"week": WEEK}) for m in members * 2]
        after = state()
        issued = [client.get(f"/v1/members/{m}/challenge", params={"week": WEEK}) for m in members]
        again = client.get(PREVIEW.format(member="3"), params={"week": WEEK})
    assert all(p.status_code == 200 for p in previews), [p.text for p in previews]
    assert after == before  # no counter, budget, issued challenge or history written
    bodies = [p.json() for p in previews]
    assert all(b["issued"] is False for b in bodies)
    assert bodies[0]["status"] == "issued"
    assert bodies[0]["explanation"]["picks"]
    assert bodies[2]["cold_start"] is True
    for preview, answer in zip(bodies, issued, strict=False):
        assert {k: preview[k] for k in SAME} == {k: answer.json()[k] for k in SAME}
    assert again.json()["issued"] is True  # once issued, the look-up shows the stored challenge
    assert again.json()["issued_at"] == issued[0].json()["issued_at"]


def test_preview_needs_the_admin_key(live: LiveServer) -> None:
    with httpx.Client(base_url=live.url) as client:
        answer = client.get(PREVIEW.format(member="3"), params={"week": WEEK})
    assert answer.status_code == 401


def test_preview_shows_a_spent_budget(server_settings: Settings, live: LiveServer, rules_path: Path) -> None:
    write_rules(rules_path, budget=0.01)
    with live.client() as client:
        preview = client.get(PREVIEW.format(member="5"), params={"week": WEEK}).json()
    assert (preview["status"], preview["reason_code"]) == ("no_offer", "budget")


def test_preview_records_no_exposure_and_shows_the_arm(
    exp_live: LiveServer,  # noqa: F811 (the fixtures imported above)
    definition: ExperimentDefinition,  # noqa: F811
    events_db: Path,  # noqa: F811
) -> None:
    held = member_in(definition, "holdout")
    treated = member_in(definition, "recommender")
    with exp_live.client() as client:
        client.get(f"/v1/members/{treated}/challenge", params={"week": WEEK})
        with SqliteEventStore(events_db) as store:
            before = store.counts()
        held_preview = client.get(PREVIEW.format(member=held), params={"week": WEEK}).json()
        with SqliteEventStore(events_db) as store:
            after = store.counts()
    assert after == before
    assert held_preview["arm"] == "holdout"
    assert held_preview["reason_code"] == "holdout"


@pytest.mark.parametrize("member", ["01", "x" * 65])
def test_preview_validates_member_ids_like_every_route(live: LiveServer, member: str) -> None:
    with live.client() as client:
        assert client.get(PREVIEW.format(member=member)).status_code == 422
