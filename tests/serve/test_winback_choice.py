"""Win-back and choice through real HTTP, on both stores.

A member whose spend dropped them from gold to silver gets a win-back challenge that says how to get
back, completes it with purchases (``POST /v1/events/purchases``) and is gold again; a gold member is
offered alternatives, picks one once (``POST .../challenge/choice``) and the budget keeps the pick.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.artifact import write_artifact
from engine.config import CONFIG_DIR
from engine.experiments.assignment import assign_arm
from engine.experiments.definition import load_definition
from engine.serve.app import create_app
from engine.serve.settings import Settings
from tests.serve.conftest import (
    REDIS_URL,
    WEEK,
    LiveServer,
    delete_prefix,
    make_artifact,
    make_settings,
    new_store,
    run,
)
from tests.serve.test_experiments import DEFINITION, EXPERIMENT, experiment_settings, picks, purchase

Json = dict[str, Any]
CHOICE_RULES = '\n[choice]\ntiers = ["gold"]\noptions = 3\n'


def _rules(path: Path, extra: str = "") -> Path:
    text = (CONFIG_DIR / "rules.toml").read_text()
    start = text.index("[choice]")
    end = text.index("[reward_variation]")
    path.write_text(text[:start] + text[end:] + extra)
    return path


def _artifact_root(tmp: Path, dropped: int, gold: tuple[int, ...]) -> Path:
    artifact = make_artifact("v1")
    members = artifact.members.copy()
    members["previous_tier"] = None
    members["dropped_week"] = None
    members.loc[members["member_id"] == dropped, ["tier", "previous_tier", "dropped_week"]] = [
        "silver",
        "gold",
        WEEK - 2,
    ]
    members.loc[members["member_id"].isin(gold), "tier"] = "gold"
    root = tmp / "artifacts"
    write_artifact(artifact.__class__(**{**artifact.__dict__, "members": members}), root / "v1")
    (root / "CHAMPION").write_text("v1\n")
    return root


def _store_options(kind: str) -> tuple[dict[str, Any], str | None]:
    if kind == "embedded":
        return {}, None
    prefix = f"test-winback-{uuid.uuid4().hex[:12]}"
    return {"store": {"type": "redis", "url": REDIS_URL, "key_prefix": prefix}}, prefix


@pytest.fixture
def winback_live(store_kind: str, tmp_path: Path) -> Iterator[tuple[LiveServer, int]]:
    """A server with the experiment (progress needs it) and a recommender-arm member who dropped."""
    definition_path = tmp_path / "experiments" / f"{EXPERIMENT}.toml"
    definition_path.parent.mkdir()
    definition_path.write_text(DEFINITION)
    definition = load_definition(definition_path)
    member = next(m for m in range(1, 21) if assign_arm(definition, m) == "recommender")
    root = _artifact_root(tmp_path, member, ())
    rules = _rules(tmp_path / "rules.toml")
    options, prefix = _store_options(store_kind)
    settings = experiment_settings(root, rules, definition_path, tmp_path / "events.sqlite3", **options)
    with LiveServer(create_app(settings)) as server:
        yield server, member
    if prefix:
        delete_prefix(REDIS_URL, prefix)


def test_a_dropped_member_completes_the_winback_and_is_restored(
    winback_live: tuple[LiveServer, int],
) -> None:
    live, member = winback_live
    with live.client() as client:
        body = client.get(f"/v1/members/{member}/challenge", params={"week": WEEK}).json()
        assert body["status"] == "issued", body["reason"]
        assert body["tier"] == "silver"
        assert body["winback"]["previous_tier"] == "gold"
        assert body["winback"]["restores_tier"] is True
        assert "complete this to get back to gold" in body["explanation"]["picks"][0]
        assert body["restored"] is None
        other = client.get("/v1/members/2/challenge", params={"week": WEEK}).json()
        assert other.get("winback") is None
        assert "restored" not in other
    with live.client("test-till-key-0123456789") as till:
        items = picks(body)
        r = till.post(
            "/v1/events/purchases",
            json={"events": [purchase(f"wb-{k}", member, item) for k, item in enumerate(items)]},
        )
        assert r.status_code == 200, r.text
        (progress,) = r.json()["progress"]
        assert progress["completed"] is True
    with live.client() as client:
        after = client.get(f"/v1/members/{member}/challenge", params={"week": WEEK}).json()
        assert after["restored"] == {"tier": "gold", "until_week": WEEK + 1 + 13}
        assert after["progress"]["reward_issued"] is True
        following = client.get(f"/v1/members/{member}/challenge", params={"week": WEEK + 1}).json()
        assert following["tier"] == "gold"  # restored: the next week's challenge is gold's
        assert following.get("winback") is None


@pytest.fixture
def choice_live(store_kind: str, tmp_path: Path) -> Iterator[tuple[LiveServer, Settings]]:
    """A server whose rules offer gold members a choice; members 5 and 6 are gold."""
    root = _artifact_root(tmp_path, 9, (5, 6))
    rules = _rules(tmp_path / "rules.toml", CHOICE_RULES)
    options, prefix = _store_options(store_kind)
    settings = make_settings(root, rules, **options)
    with LiveServer(create_app(settings)) as server:
        server.app_state = server.server.config.app.state  # type: ignore[attr-defined]
        yield server, settings
    if prefix:
        delete_prefix(REDIS_URL, prefix)


def _spent(live: LiveServer, settings: Settings, week: int) -> float:
    if settings.store.type == "redis":

        async def read() -> float:
            store = new_store(settings)
            try:
                return await store.budget_spent(week)
            finally:
                await store.close()

        return float(run(read()))
    state = live.app_state.serve  # type: ignore[attr-defined]
    return float(asyncio.run(state.store.budget_spent(week)))


def test_a_gold_member_picks_one_option_once(choice_live: tuple[LiveServer, Settings]) -> None:
    live, settings = choice_live
    with live.client() as client:
        body = client.get("/v1/members/5/challenge", params={"week": WEEK}).json()
        assert body["status"] == "issued", body["reason"]
        options = body["choice"]["options"]
        assert 2 <= len(options) <= 3
        assert body["choice"]["chosen"] is None
        assert len({o["stretch"]["category"] for o in options}) == len(options)
        for option in options:
            assert option["explanation"]["picks"]
            assert {r["rule"]: r["passed"] for r in option["explanation"]["rules"]}["hard_guard"]
        assert client.get("/v1/members/5/challenge", params={"week": WEEK}).json() == body  # stable
        reserved = max(o["expected_cost"] for o in options)
        assert body["choice"]["reserved_cost"] == pytest.approx(reserved)
        assert _spent(live, settings, WEEK) == pytest.approx(reserved)

        url = "/v1/members/5/challenge/choice"
        bad = client.post(url, params={"week": WEEK}, json={"option_id": "9"})
        assert bad.status_code == 422
        assert "not one of the options" in bad.json()["detail"]
        r = client.post(url, params={"week": WEEK}, json={"option_id": "2"})
        assert r.status_code == 200, r.text
        chosen = r.json()
        assert chosen["choice"]["chosen"] == "2"
        assert chosen["stretch"] == options[1]["stretch"]
        assert chosen["habitual"] == options[1]["habitual"]
        assert chosen["explanation"] == options[1]["explanation"]
        assert _spent(live, settings, WEEK) == pytest.approx(options[1]["expected_cost"])

        again = client.post(url, params={"week": WEEK}, json={"option_id": "2"})
        assert (again.status_code, again.json()) == (200, chosen)
        other = client.post(url, params={"week": WEEK}, json={"option_id": "1"})
        assert other.status_code == 409
        assert "already chose option '2'" in other.json()["detail"]
        assert _spent(live, settings, WEEK) == pytest.approx(options[1]["expected_cost"])
        shown = client.get("/v1/members/5/challenge", params={"week": WEEK}).json()
        assert (shown["choice"]["chosen"], shown["stretch"]) == ("2", options[1]["stretch"])

        client.get("/v1/members/1/challenge", params={"week": WEEK})
        none = client.post("/v1/members/1/challenge/choice", params={"week": WEEK}, json={"option_id": "1"})
        assert none.status_code == 409
        assert "offers no choice" in none.json()["detail"]
        never = client.post("/v1/members/6/challenge/choice", params={"week": WEEK}, json={"option_id": "1"})
        assert never.status_code == 404


def test_no_choice_while_an_experiment_records_exposures(store_kind: str, tmp_path: Path) -> None:
    # the experiment's event store knows the issued challenge, not a later pick: rewards must follow
    # what the member was exposed to, so a gold member in the recommender arm gets one challenge
    definition_path = tmp_path / "experiments" / f"{EXPERIMENT}.toml"
    definition_path.parent.mkdir()
    definition_path.write_text(DEFINITION)
    definition = load_definition(definition_path)
    gold = tuple(m for m in range(1, 21) if assign_arm(definition, m) == "recommender")[:2]
    root = _artifact_root(tmp_path, 99, gold)
    rules = _rules(tmp_path / "rules.toml", CHOICE_RULES)
    options, prefix = _store_options(store_kind)
    settings = experiment_settings(root, rules, definition_path, tmp_path / "events.sqlite3", **options)
    try:
        with LiveServer(create_app(settings)) as live, live.client() as client:
            body = client.get(f"/v1/members/{gold[0]}/challenge", params={"week": WEEK}).json()
            assert body["status"] == "issued", body["reason"]
            assert body["tier"] == "gold"
            assert body["experiment"] == EXPERIMENT
            assert body.get("choice") is None
            r = client.post(
                f"/v1/members/{gold[0]}/challenge/choice", params={"week": WEEK}, json={"option_id": "2"}
            )
            assert r.status_code == 409, r.text
    finally:
        if prefix:
            delete_prefix(REDIS_URL, prefix)
