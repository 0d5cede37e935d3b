"""The service through real HTTP (uvicorn on a free port), against the embedded store and real Redis."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.artifact import write_artifact
from engine.serve.settings import Settings
from tests.serve.conftest import WEEK, LiveServer, make_artifact, write_rules

Json = dict[str, Any]


def challenge(live: LiveServer, member: str | int, week: int = WEEK) -> Json:
    """GET a member's challenge, asserting 200."""
    with live.client() as client:
        r = client.get(f"/v1/members/{member}/challenge", params={"week": week})
    assert r.status_code == 200, r.text
    body: Json = r.json()
    return body


def item_ids(body: Json) -> list[Any]:
    """The three picked item ids."""
    return [h["item_id"] for h in body["habitual"]] + [body["stretch"]["item_id"]]


def expected_habitual(version: str, member: int) -> set[int]:
    """The habitual candidate items of ``member`` in the test artifacts (see ``make_artifact``)."""
    offset = {"v1": 0, "v2": 7}[version]
    return {1 + (member + offset + k) % 40 for k in range(3)}


def test_challenge_shape(live: LiveServer) -> None:
    body = challenge(live, 3)
    assert body["status"] == "issued"
    assert body["member_id"] == 3
    assert body["week"] == WEEK
    assert len(body["habitual"]) == 2
    assert body["stretch"]["category"]
    assert body["reward"]["stars"] == 25
    assert body["model_version"] == "v1"
    assert body["rules_version"]
    assert body["arm"] is None
    assert body["cold_start"] is False
    assert body["expires_at"].startswith("2026-03-16")  # week 10 ends when week 11 starts
    assert body["explanation"]["picks"]


def test_framework_route_and_hot_path_answer_alike(live: LiveServer) -> None:
    """A query the hot path does not parse goes to FastAPI's route, which must give the same answer."""
    hot = challenge(live, 8)
    with live.client() as client:
        slow = client.get(f"/v1/members/8/challenge?week={WEEK}&week={WEEK}")
        bad = client.get("/v1/members/8/challenge?week=0&week=0")
    assert slow.status_code == 200
    assert slow.json() == hot
    assert bad.status_code == 422
    assert bad.json()["error"] == "BadRequest"


def test_experiment_hooks_see_each_new_issuance_once(server_settings: Settings) -> None:
    from engine.serve.app import create_app
    from engine.serve.issuance import ArmChoice, Exposure

    exposures: list[Exposure] = []

    async def record(event: Exposure) -> None:
        exposures.append(event)

    def arm(member_id: str, week: int) -> ArmChoice:
        name = "treatment" if int(member_id) % 2 else "control"
        return ArmChoice("exp", name, "recommender")

    app = create_app(server_settings, assign_arm=arm, on_exposure=record)
    with LiveServer(app) as live:
        bodies = [challenge(live, m) for m in (1, 2, 1, 2)]
    assert [b["arm"] for b in bodies] == ["treatment", "control", "treatment", "control"]
    assert {b["experiment"] for b in bodies} == {"exp"}
    assert all(e.challenge is not None and e.challenge.status == "issued" for e in exposures)
    assert [(e.member_id, e.arm, e.week) for e in exposures] == [
        ("1", "treatment", WEEK),
        ("2", "control", WEEK),
    ]


def test_stable_within_week_across_rules_change_and_model_switch(live: LiveServer, rules_path: Path) -> None:
    first = challenge(live, 1)
    assert challenge(live, 1) == first
    write_rules(rules_path, stars=40)
    with live.client() as client:
        assert client.post("/v1/admin/rules:reload").json()["changed"] is True
        assert client.post("/v1/admin/models/v2:publish").status_code == 200
    assert challenge(live, 1) == first
    # New issuances see the new rules and model; the next week re-issues for member 1.
    fresh = challenge(live, 2)
    assert (fresh["reward"]["stars"], fresh["model_version"]) == (40, "v2")
    assert fresh["rules_version"] != first["rules_version"]
    assert challenge(live, 1, WEEK + 1)["model_version"] == "v2"


def test_concurrent_first_requests_issue_one_challenge(live: LiveServer) -> None:
    async def burst() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=64)
        async with httpx.AsyncClient(base_url=live.url, limits=limits, timeout=10) as client:
            return await asyncio.gather(
                *(client.get("/v1/members/5/challenge", params={"week": WEEK}) for _ in range(64))
            )

    responses = asyncio.run(burst())
    assert {r.status_code for r in responses} == {200}
    assert len({r.content for r in responses}) == 1
    with live.client() as client:
        counters = client.get("/v1/admin/counters").json()["counters"]
    assert counters[f"decisions:w{WEEK}"] == 1


def test_model_switch_is_atomic(live: LiveServer) -> None:
    """Requests racing a publish each see one version: label and picks always agree."""
    bodies: list[Json] = []
    errors: list[str] = []
    stop = threading.Event()

    def reader(start: int) -> None:
        with live.client() as client:
            member = start
            while not stop.is_set():
                r = client.get(f"/v1/members/{member}/challenge", params={"week": WEEK})
                if r.status_code != 200:
                    errors.append(r.text)
                else:
                    bodies.append(r.json())
                member = member % 20 + 1 if member < 20 else 1

    threads = [threading.Thread(target=reader, args=(k,)) for k in (1, 11)]
    for t in threads:
        t.start()
    with live.client() as admin:
        for version in ("v2", "v1", "v2"):
            assert admin.post(f"/v1/admin/models/{version}:publish").status_code == 200
    stop.set()
    for t in threads:
        t.join()
    assert not errors
    assert bodies
    for body in bodies:
        picks = {h["item_id"] for h in body["habitual"]}
        assert picks <= expected_habitual(body["model_version"], body["member_id"]), body["model_version"]


def test_rollback(live: LiveServer) -> None:
    with live.client() as client:
        assert client.post("/v1/admin/models:rollback").status_code == 409
        client.post("/v1/admin/models/v2:publish")
        r = client.post("/v1/admin/models:rollback")
        assert r.json() == {"model_version": "v1", "previous_version": "v2"}
        assert client.get("/readyz").json()["model_version"] == "v1"


def test_rules_hot_reload_and_bad_file(live: LiveServer, rules_path: Path) -> None:
    before = challenge(live, 1)
    # The file watcher picks a change up without any admin call.
    write_rules(rules_path, stars=30)
    assert challenge(live, 2)["reward"]["stars"] == 30
    good_version = challenge(live, 2)["rules_version"]
    assert good_version != before["rules_version"]
    # A bad file: the admin reload is refused with the problem; serving goes on with the last good rules.
    bad = rules_path.read_text().replace("max_reward_share = 0.5", "max_reward_share = 7")
    write_rules(rules_path, text=bad)
    with live.client() as client:
        r = client.post("/v1/admin/rules:reload")
        assert r.status_code == 422
        assert r.json()["error"] == "RulesError"
        assert "max_reward_share" in str(r.json()["detail"])
        assert "max_reward_share" in client.get("/readyz").json()["rules_rejected"]
    third = challenge(live, 3)
    assert (third["reward"]["stars"], third["rules_version"]) == (30, good_version)
    write_rules(rules_path, text="not = [valid toml")
    assert challenge(live, 4)["rules_version"] == good_version


def test_weekly_budget_turns_later_issuances_into_no_offer(live: LiveServer, rules_path: Path) -> None:
    write_rules(rules_path, budget=0.05)  # room for one challenge of expected cost ~0.037
    first = challenge(live, 1)
    second = challenge(live, 2)
    assert first["status"] == "issued"
    assert (second["status"], second["reason_code"]) == ("no_offer", "budget")
    assert challenge(live, 2) == second
    with live.client() as client:
        counters = client.get("/v1/admin/counters").json()["counters"]
        metrics = client.get("/metrics").text
    assert counters["no_offer:budget"] == 1
    assert 'offers_no_offer_total{reason="budget"} 1.0' in metrics


def test_cold_start_member(live: LiveServer) -> None:
    body = challenge(live, 987654)
    assert body["cold_start"] is True
    assert body["status"] == "issued"
    assert set(item_ids(body)) <= {5, 6, 7, 8}  # the popular items and the popular category's item
    assert body["member_id"] == 987654


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/v1/members/1/challenge?week=abc", None, 422),
        ("GET", "/v1/members/1/challenge?week=0", None, 422),
        ("GET", "/v1/members/1/challenge?week=99999999999", None, 422),
        ("GET", "/v1/members/a:b/challenge", None, 422),
        ("GET", f"/v1/members/{'x' * 65}/challenge", None, 422),
        ("POST", "/v1/challenges:batch", {"member_ids": []}, 422),
        ("POST", "/v1/challenges:batch", {"member_ids": ["1"], "extra": 1}, 422),
        ("POST", "/v1/challenges:batch", {"member_ids": ["1"] * 501}, 422),
        ("POST", "/v1/challenges:batch", "not json", 422),
        ("POST", "/v1/admin/models/nope:publish", None, 404),
        ("POST", "/v1/admin/models/..:publish", None, 422),
        ("GET", "/v1/nothing-here", None, 404),
    ],
)
def test_bad_input_is_a_clear_4xx(
    shared_live: LiveServer, method: str, path: str, body: Any, status: int
) -> None:
    with shared_live.client() as client:
        if isinstance(body, str):
            r = client.request(method, path, content=body, headers={"content-type": "application/json"})
        else:
            r = client.request(method, path, json=body)
    assert r.status_code == status, r.text
    payload = r.json()
    assert set(payload) == {"error", "detail"}
    assert payload["detail"]


def test_admin_needs_the_key(shared_live: LiveServer) -> None:
    with httpx.Client(base_url=shared_live.url) as client:
        r = client.post("/v1/admin/rules:reload")
        assert r.status_code == 401
        assert r.json()["error"] == "Unauthorized"
        r = client.post("/v1/admin/models:rollback", headers={"X-API-Key": "wrong"})
        assert r.status_code == 401


def test_batch(live: LiveServer) -> None:
    single = challenge(live, 4)
    with live.client() as client:
        r = client.post("/v1/challenges:batch", json={"member_ids": ["4", "5", "123456"], "week": WEEK})
    assert r.status_code == 200
    body = r.json()
    assert body["week"] == WEEK
    assert [c["member_id"] for c in body["challenges"]] == [4, 5, 123456]
    assert body["challenges"][0] == single


def test_health_ready_metrics(live: LiveServer) -> None:
    challenge(live, 6)
    with live.client() as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz").json()
        assert (ready["status"], ready["model_version"]) == ("ready", "v1")
        text = client.get("/metrics").text
    route = 'route="/v1/members/{member_id}/challenge"'
    assert f'offers_request_seconds_bucket{{le="0.005",method="GET",{route}' in text
    assert 'offers_decisions_total{cold_start="false",status="issued"} 1.0' in text


def test_default_week_comes_from_the_calendar(live: LiveServer) -> None:
    with live.client() as client:
        r = client.get("/v1/members/1/challenge")
    assert r.status_code == 200
    assert r.json()["week"] == live.server.config.app.state.serve.calendar.current_week()


def test_not_ready_without_a_model(server_settings: Settings, tmp_path: Path) -> None:
    from engine.serve.app import create_app

    settings = server_settings.model_copy(update={"publish_on_start": "never", "republish_when_empty": False})
    with LiveServer(create_app(settings)) as live, live.client() as client:
        assert client.get("/readyz").status_code == 503
        r = client.get("/v1/members/1/challenge", params={"week": WEEK})
        assert r.status_code == 503
        assert "no model version is published" in r.json()["detail"]
        root = settings.artifact_root
        write_artifact(make_artifact("v3"), root / "v3")
        assert client.post("/v1/admin/models/v3:publish").json()["members"] == 20
        assert client.get("/readyz").status_code == 200


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/v1/members/1/challenge", "wek=10"),
        ("/v1/members/1/challenge", "week=10&colour=red"),
        ("/v1/members/1/progress", "="),
        ("/healthz", "x=1"),
    ],
)
def test_unknown_query_parameters_are_refused_not_ignored(live: LiveServer, path: str, query: str) -> None:
    with live.client() as client:
        answer = client.get(f"{path}?{query}")
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == "BadRequest"
    assert "unknown query parameter" in answer.json()["detail"]
