"""Property-based API fuzzing from the live app's OpenAPI spec, against both stores.

No generated request may produce a 5xx. Requests the spec allows get documented statuses and bodies
that match the spec; requests outside the spec's own bounds (member ids, weeks, batch sizes, model
versions: see :mod:`engine.serve.openapi`) are refused with a 4xx.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from engine.serve.app import create_app
from engine.serve.auth import SCOPES
from tests.serve.conftest import REDIS_URL, TEST_KEYS, LiveServer, delete_prefix, redis_available, write_rules
from tests.serve.test_experiments import DEFINITION, EXPERIMENT, experiment_settings

#: Bounded so that the whole run (2 stores x 2 modes) stays well under a minute on a shared 2-core machine.
MAX_EXAMPLES = 20
#: Small, so that a batch at the bound stays cheap.
MAX_BATCH = 12
#: One key with every scope, configured as production would (reads closed, metrics behind a key), so a
#: request the spec says needs a key is refused without one.
FUZZ_KEY = "test-fuzz-key-all-scopes-0123456789"
FUZZ_AUTH = {
    "keys": [*TEST_KEYS, {"name": "fuzz", "key": FUZZ_KEY, "scopes": list(SCOPES)}],
    "metrics": "key",
}
CHECKS = {
    GenerationMode.POSITIVE: [not_a_server_error, status_code_conformance, response_schema_conformance],
    GenerationMode.NEGATIVE: [not_a_server_error, negative_data_rejection],
}


@pytest.fixture(scope="module", params=["embedded", pytest.param("redis", marks=pytest.mark.redis)])
def fuzz_server(
    request: pytest.FixtureRequest, artifact_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """One server per store running an experiment, for the whole fuzz run."""
    if request.param == "redis" and not redis_available():
        pytest.skip("no Redis on 127.0.0.1:6379")
    tmp = tmp_path_factory.mktemp("fuzz")
    root = Path(shutil.copytree(artifact_template, tmp / "artifacts"))
    write_rules(tmp / "rules.toml")
    # Experiments configured, so the events and progress routes run their real logic under fuzzing.
    definition = tmp / f"{EXPERIMENT}.toml"
    definition.write_text(DEFINITION)
    prefix = f"test-fuzz-{uuid.uuid4().hex[:12]}"
    store = {"store": {"type": "redis", "url": REDIS_URL, "key_prefix": prefix}}
    settings = experiment_settings(
        root,
        tmp / "rules.toml",
        definition,
        tmp / "events.sqlite3",
        max_batch=MAX_BATCH,
        auth=FUZZ_AUTH,
        **(store if request.param == "redis" else {}),
    )
    with LiveServer(create_app(settings)) as server:
        yield server
    if request.param == "redis":
        delete_prefix(REDIS_URL, prefix)


@pytest.mark.parametrize("mode", list(CHECKS), ids=lambda m: m.value)
def test_no_server_errors_and_the_spec_holds(fuzz_server: LiveServer, mode: GenerationMode) -> None:
    """Every operation, ``MAX_EXAMPLES`` generated requests each, with a key holding every scope."""
    api = schemathesis.openapi.from_url(f"{fuzz_server.url}/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 10
    statuses: list[int] = []
    failures: list[str] = []

    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case: schemathesis.Case) -> None:
            response = case.call(base_url=fuzz_server.url, headers={"X-API-Key": FUZZ_KEY})
            statuses.append(response.status_code)
            try:
                case.validate_response(response, checks=CHECKS[mode])
            except AssertionError as exc:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {exc}")
                raise

        try:
            fuzz()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE  # an operation without inputs has no invalid request
        except AssertionError:
            pass  # collected in ``failures``; carry on so that one run shows every failing operation
        except Exception as exc:  # schemathesis raises its own failure groups
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not failures, "\n\n".join(failures[:10])
    # The run really exercised the API: many requests, both accepted and refused ones.
    assert len(statuses) >= 3 * len(operations)
    assert all(s < 500 for s in statuses)
    assert any(400 <= s < 500 for s in statuses)
    if mode is GenerationMode.POSITIVE:
        assert any(s == 200 for s in statuses)


def test_the_spec_states_the_bounds_the_service_enforces(fuzz_server: LiveServer) -> None:
    """Each bound read from the live spec holds exactly: the edge value is taken, one past it refused."""
    spec = httpx.get(f"{fuzz_server.url}/openapi.json").json()
    challenge = spec["paths"]["/v1/members/{member_id}/challenge"]["get"]["parameters"]
    member = next(p["schema"] for p in challenge if p["name"] == "member_id")
    week = next(b for p in challenge if p["name"] == "week" for b in p["schema"]["anyOf"] if "maximum" in b)
    batch = spec["components"]["schemas"]["BatchRequest"]["properties"]["member_ids"]
    publish = spec["paths"]["/v1/admin/models/{version}:publish"]["post"]["parameters"][0]["schema"]
    assert (member["maxLength"], batch["maxItems"], publish["maxLength"]) == (64, MAX_BATCH, 128)
    assert member["pattern"]
    assert publish["pattern"]
    low, high = week["minimum"], week["maximum"]
    longest = "m" * member["maxLength"]

    with httpx.Client(base_url=fuzz_server.url, headers={"X-API-Key": FUZZ_KEY}, timeout=30) as client:

        def status(method: str, path: str, **kwargs: object) -> int:
            code: int = client.request(method, path, **kwargs).status_code  # type: ignore[arg-type]
            return code

        taken = [
            status("GET", "/v1/members/1/challenge", params={"week": low}),
            status("GET", "/v1/members/1/challenge", params={"week": high}),
            status("GET", f"/v1/members/{longest}/challenge", params={"week": low}),
            status(
                "POST", "/v1/challenges:batch", json={"member_ids": ["1"] * batch["maxItems"], "week": low}
            ),
        ]
        refused = [
            status("GET", "/v1/members/1/challenge", params={"week": low - 1}),
            status("GET", "/v1/members/1/challenge", params={"week": high + 1}),
            status("GET", f"/v1/members/{longest}x/challenge", params={"week": low}),
            status("GET", "/v1/members/01/challenge", params={"week": low}),
            status("POST", "/v1/challenges:batch", json={"member_ids": ["1"] * (batch["maxItems"] + 1)}),
            status("POST", f"/v1/admin/models/{'v' * (publish['maxLength'] + 1)}:publish"),
        ]
    assert taken == [200] * len(taken)
    assert refused == [422] * len(refused)
