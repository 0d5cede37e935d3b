"""Who may call what, through real HTTP: purchases only from the till, inside the running week; read
keys; the OpenAPI security schemes; /metrics restrictable; no benchmark route in production."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from engine.errors import ConfigError, Forbidden, Unauthorized
from engine.experiments.definition import ExperimentDefinition
from engine.experiments.store import SqliteEventStore
from engine.serve.app import create_app
from engine.serve.auth import AuthConfig, KeyRing
from engine.serve.settings import Settings, load_settings
from tests.serve.conftest import (
    ADMIN_KEY,
    READ_KEY,
    SIGNALS_KEY,
    TEST_KEYS,
    TILL_KEY,
    WEEK,
    LiveServer,
    make_settings,
)
from tests.serve.test_experiments import (  # the experiment fixtures are shared with that module
    calendar_with_current_week,
    challenge,
    definition,
    definition_path,
    events_db,
    exp_live,
    exp_settings,
    experiment_settings,
    member_in,
    picks,
    purchase,
    week_start,
)

__all__ = ["definition", "definition_path", "events_db", "exp_live", "exp_settings"]

Json = dict[str, Any]
#: The app backend's key with the read scope; configured by the tests that close reads.
READ_KEYS = [*TEST_KEYS, {"name": "app", "key": READ_KEY, "scopes": ["read"]}]


def _post(live: LiveServer, events: list[Json], key: str | None = TILL_KEY) -> httpx.Response:
    headers = {} if key is None else {"X-API-Key": key}
    return httpx.post(f"{live.url}/v1/events/purchases", json={"events": events}, headers=headers)


def test_purchases_are_taken_only_with_the_tills_key(
    exp_live: LiveServer, definition: ExperimentDefinition, events_db: Path
) -> None:
    """The attack of issue 12: anonymous events completing a member's challenge."""
    member = member_in(definition, "recommender")
    events = [purchase(f"a{i}", member, item) for i, item in enumerate(picks(challenge(exp_live, member)))]
    for key, status, error in [
        (None, 401, "Unauthorized"),
        ("made-up-key-0123456789", 401, "Unauthorized"),
        (ADMIN_KEY, 403, "Forbidden"),  # a valid key, but not the till's
        (SIGNALS_KEY, 403, "Forbidden"),
    ]:
        r = _post(exp_live, events, key)
        assert (r.status_code, r.json()["error"]) == (status, error), r.text
        assert TILL_KEY not in r.text
        assert (key or "") not in r.json()["detail"] or key is None
    with SqliteEventStore(events_db) as store:
        assert (store.counts()["purchases"], store.counts()["rewards"]) == (0, 0)
    r = _post(exp_live, events)
    assert r.status_code == 200, r.text
    assert r.json()["progress"][0]["reward_issued_now"] is True
    with SqliteEventStore(events_db) as store:
        stored = store.table("purchases")
        source = store._conn.execute("SELECT DISTINCT transaction_id, source FROM purchases").fetchall()
    assert len(stored) == 3
    assert sorted(source) == sorted((f"basket-a{i}", "till") for i in range(3))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"transaction_id": None}, "transaction_id"),
        ({"timestamp": None}, "timestamp"),
        ({"timestamp": "2026-03-10T12:00:00"}, "timestamp"),  # no time zone: ambiguous
        ({"sales_value": None}, "sales_value"),
        ({"sales_value": 0}, "sales_value"),  # a voided scan is not a purchase
        ({"sales_value": -3.0}, "sales_value"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": None}, "quantity"),
        ({"timestamp": "2020-01-01T00:00:00+00:00"}, "timestamp"),  # before week 1
        ({"week": WEEK + 1}, "week"),  # disagrees with the timestamp
    ],
)
def test_a_purchase_without_basket_time_or_money_is_refused(
    exp_live: LiveServer, change: Json, field: str
) -> None:
    event = {k: v for k, v in {**purchase("bad", 1, 5), **change}.items() if v is not None}
    r = _post(exp_live, [purchase("fine", 1, 6), event])
    assert r.status_code == 422, r.text
    assert f"events.1.{field}" in r.json()["detail"]
    # Nothing of the batch was stored: the good event is still new.
    assert _post(exp_live, [purchase("fine", 1, 6)]).json()["accepted"] == 1


def test_non_finite_money_is_refused(exp_live: LiveServer) -> None:
    body = (
        b'{"events": [{"event_id": "inf", "transaction_id": "t", "member_id": 1, "item_id": 5, '
        b'"timestamp": "' + dt.datetime.now(dt.UTC).isoformat().encode() + b'", '
        b'"quantity": 1, "sales_value": 1e999}]}'
    )
    r = httpx.post(
        f"{exp_live.url}/v1/events/purchases",
        content=body,
        headers={"X-API-Key": TILL_KEY, "content-type": "application/json"},
    )
    assert r.status_code == 422, r.text
    assert "events.0.sales_value" in r.json()["detail"]


@pytest.mark.parametrize(
    ("current", "bought_in", "reason"),
    [(WEEK, WEEK + 1, "week_not_started"), (WEEK + 1, WEEK - 1, "week_expired")],
)
def test_purchases_outside_the_running_week_earn_nothing(
    artifact_root: Path,
    rules_path: Path,
    definition_path: Path,
    events_db: Path,
    definition: ExperimentDefinition,
    current: int,
    bought_in: int,
    reason: str,
) -> None:
    """A challenge of a week not started (or already over) cannot be completed: no reward, said so."""
    settings = experiment_settings(
        artifact_root,
        rules_path,
        definition_path,
        events_db,
        calendar=calendar_with_current_week(current),
    )
    member = member_in(definition, "recommender")
    with LiveServer(create_app(settings)) as live:
        body = challenge(live, member, week=bought_in)
        assert body["status"] == "issued"
        # week_start() is on the calendar where WEEK is current: shift to this test's calendar.
        when = week_start(bought_in) - dt.timedelta(weeks=current - WEEK) + dt.timedelta(days=3)
        events = [purchase(f"w{i}", member, item, when) for i, item in enumerate(picks(body))]
        r = _post(live, events)
        assert r.status_code == 200, r.text
        answer = r.json()
        assert [n["reason"] for n in answer["not_counted"]] == [reason] * 3
        assert {n["week"] for n in answer["not_counted"]} == {bought_in}
        assert "earns nothing" in answer["not_counted"][0]["detail"]
        late = reason == "week_expired"  # a late purchase is real spend: kept, never earning
        assert answer["accepted"] == (3 if late else 0)
        assert [p["completed"] for p in answer["progress"]] == ([False] if late else [])
        assert _post(live, events).json()["not_counted"] == answer["not_counted"]  # a resend: the same
        after = challenge(live, member, week=bought_in)["progress"]
        assert (after["completed"], after["reward_issued"]) == (False, False)
        assert not any(p["bought"] for p in after["picks"])
    with SqliteEventStore(events_db) as store:
        assert (store.counts()["purchases"], store.counts()["rewards"]) == (3 if late else 0, 0)
        spend = store.table("purchases")["sales_value"].sum()
    assert spend == pytest.approx(9.0 if late else 0.0)


@pytest.fixture
def closed_reads(artifact_root: Path, rules_path: Path) -> Iterator[LiveServer]:
    """A server with a read key configured: reads and batch calls need it."""
    settings = make_settings(artifact_root, rules_path, auth={"keys": READ_KEYS, "metrics": "open"})
    with LiveServer(create_app(settings)) as server:
        yield server


def test_reads_need_the_read_key_once_one_is_configured(closed_reads: LiveServer) -> None:
    url = closed_reads.url
    paths = [
        "/v1/members/3/challenge?week=10",  # the fast path
        "/v1/members/3/challenge?week=10&week=10",  # the FastAPI route (the fast path takes one week=N)
    ]
    for path in paths:
        assert httpx.get(url + path).status_code == 401
        assert httpx.get(url + path, headers={"X-API-Key": "nope-nope-nope-nope"}).status_code == 401
        r = httpx.get(url + path, headers={"X-API-Key": TILL_KEY})
        assert (r.status_code, r.json()["error"]) == (403, "Forbidden")
        ok = httpx.get(url + path, headers={"X-API-Key": READ_KEY})
        assert ok.status_code == 200, ok.text
    assert httpx.get(f"{url}/v1/members/3/progress").status_code == 401
    batch = {"member_ids": [str(m) for m in range(1000, 1500)], "week": WEEK}
    r = httpx.post(f"{url}/v1/challenges:batch", json=batch)
    assert r.status_code == 401
    with closed_reads.client() as admin:
        # The anonymous batch issued nothing: only the one member read above was issued.
        assert admin.get("/v1/admin/counters").json()["counters"]["decisions"] == 1
    r = httpx.post(f"{url}/v1/challenges:batch", json=batch, headers={"X-API-Key": READ_KEY})
    assert r.status_code == 200
    assert len(r.json()["challenges"]) == 500


def test_reads_are_anonymous_until_a_read_key_exists(live: LiveServer) -> None:
    assert httpx.get(f"{live.url}/v1/members/3/challenge?week={WEEK}").status_code == 200
    r = httpx.post(f"{live.url}/v1/challenges:batch", json={"member_ids": ["3"], "week": WEEK})
    assert r.status_code == 200


def test_openapi_declares_a_security_scheme_per_scope(live: LiveServer) -> None:
    spec = httpx.get(f"{live.url}/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert set(schemes) == {"ReadKey", "PurchasesKey", "SignalsKey", "AdminKey", "MetricsKey"}
    assert all((s["type"], s["in"], s["name"]) == ("apiKey", "header", "X-API-Key") for s in schemes.values())
    paths = spec["paths"]
    assert paths["/v1/events/purchases"]["post"]["security"] == [{"PurchasesKey": []}]
    assert paths["/v1/events/signals"]["post"]["security"] == [{"SignalsKey": []}]
    assert paths["/v1/challenges:batch"]["post"]["security"] == [{"ReadKey": []}]
    assert paths["/v1/members/{member_id}/challenge"]["get"]["security"] == [{"ReadKey": []}]
    assert paths["/v1/admin/models/{version}:publish"]["post"]["security"] == [{"AdminKey": []}]
    assert "403" in paths["/v1/events/purchases"]["post"]["responses"]


def test_the_benchmark_route_is_not_served(live: LiveServer) -> None:
    assert httpx.get(f"{live.url}/v1/_bench/ping").status_code == 404
    assert not [p for p in httpx.get(f"{live.url}/openapi.json").json()["paths"] if "_bench" in p]


@pytest.mark.parametrize("mode", ["key", "disabled"])
def test_metrics_can_be_restricted(artifact_root: Path, rules_path: Path, mode: str) -> None:
    keys = [*TEST_KEYS, {"name": "prometheus", "key": "scrape-key-0123456789", "scopes": ["metrics"]}]
    settings = make_settings(artifact_root, rules_path, auth={"keys": keys, "metrics": mode})
    with LiveServer(create_app(settings)) as live:
        anonymous = httpx.get(f"{live.url}/metrics")
        scraper = httpx.get(f"{live.url}/metrics", headers={"X-API-Key": "scrape-key-0123456789"})
        till = httpx.get(f"{live.url}/metrics", headers={"X-API-Key": TILL_KEY})
    if mode == "disabled":
        assert (anonymous.status_code, scraper.status_code) == (404, 404)
    else:
        assert (anonymous.status_code, till.status_code) == (401, 403)
        assert scraper.status_code == 200
        assert "offers_request_seconds" in scraper.text


def test_metrics_are_open_by_default(live: LiveServer) -> None:
    assert httpx.get(f"{live.url}/metrics").status_code == 200


def test_keys_come_from_the_environment_and_never_show(
    monkeypatch: pytest.MonkeyPatch, artifact_root: Path, rules_path: Path
) -> None:
    secret = "env-till-secret-0123456789"
    keys = f'[{{"name": "till", "key": "{secret}", "scopes": ["purchases"]}}]'
    monkeypatch.setenv("OFFERS_AUTH__KEYS", keys)
    settings: Settings = load_settings(artifact_root=artifact_root, rules_path=rules_path)
    assert settings.auth.metrics == "open"  # the rest of [auth] still comes from the file
    assert [k.name for k in settings.auth.keys] == ["till"]
    assert secret not in repr(settings)
    assert secret not in str(settings.model_dump())
    ring = KeyRing(settings.auth, settings.admin_api_key)
    assert ring.check(secret, "purchases") == "till"
    with pytest.raises(Unauthorized, match="admin calls are disabled"):
        ring.check(secret, "admin")  # no admin key is set in the environment
    with_admin = KeyRing(settings.auth, SecretStr(ADMIN_KEY))
    with pytest.raises(Forbidden, match="'till' does not hold scope 'admin'") as refused:
        with_admin.check(secret, "admin")
    assert secret not in refused.value.message
    assert with_admin.check(ADMIN_KEY, "admin") == "admin"


def test_weak_or_shared_keys_are_refused_at_start_up() -> None:
    short = AuthConfig.model_validate(
        {"keys": [{"name": "till", "key": "s3cr3t", "scopes": ["purchases"]}], "metrics": "open"}
    )
    with pytest.raises(ConfigError, match="'till' is shorter than 16") as weak:
        KeyRing(short, SecretStr(""))
    assert "s3cr3t" not in weak.value.message
    same = "one-secret-for-two-0123"
    shared = AuthConfig.model_validate(
        {
            "keys": [
                {"name": "till", "key": same, "scopes": ["purchases"]},
                {"name": "app", "key": same, "scopes": ["read"]},
            ],
            "metrics": "open",
        }
    )
    with pytest.raises(ConfigError, match="'till' and 'app' share one secret") as twice:
        KeyRing(shared, SecretStr(""))
    assert same not in twice.value.message
    # The admin key may not double as another key's secret either.
    with pytest.raises(ConfigError, match="share one secret"):
        KeyRing(short.model_copy(update={"keys": shared.keys[:1]}), SecretStr(same))


def test_the_event_routes_never_answer_5xx_with_their_keys(exp_live: LiveServer) -> None:
    """Fuzz the purchase and signal routes with the keys that reach their logic (not just the 401/403)."""
    import schemathesis
    from hypothesis import HealthCheck, given
    from hypothesis import settings as hypothesis_settings
    from schemathesis.checks import not_a_server_error

    keys = {"/v1/events/purchases": TILL_KEY, "/v1/events/signals": SIGNALS_KEY}
    api = schemathesis.openapi.from_url(f"{exp_live.url}/openapi.json")
    operations = [op for op in (r.ok() for r in api.get_all_operations()) if op.path in keys]
    assert len(operations) == 2
    statuses: list[int] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=40,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        def fuzz(case: schemathesis.Case) -> None:
            response = case.call(base_url=exp_live.url, headers={"X-API-Key": keys[case.operation.path]})
            statuses.append(response.status_code)
            case.validate_response(response, checks=[not_a_server_error])

        fuzz()
    assert not [s for s in statuses if s in (401, 403)]  # the keys were right: the logic ran
    assert any(s == 422 for s in statuses)


def test_a_mistyped_key_entry_is_refused_without_showing_the_secret(
    monkeypatch: pytest.MonkeyPatch, artifact_root: Path, rules_path: Path
) -> None:
    secret = "hunter2-hunter2-hunter2"
    monkeypatch.setenv("OFFERS_AUTH__KEYS", f'[{{"name": "till", "secret": "{secret}", "scopes": ["buy"]}}]')
    with pytest.raises(ConfigError) as refused:
        load_settings(artifact_root=artifact_root, rules_path=rules_path)
    message = refused.value.message
    assert "auth.keys.0.key: Field required" in message
    assert "auth.keys.0.secret: Extra inputs are not permitted" in message
    assert "auth.keys.0.scopes" in message
    assert secret not in message
    assert secret not in repr(refused.value.detail)
    assert refused.value.__cause__ is None
    assert refused.value.__suppress_context__
