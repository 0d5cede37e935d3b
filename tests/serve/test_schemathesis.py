"""Property-based API fuzzing from the live app's OpenAPI spec: no input may produce a 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from engine.serve.app import create_app
from tests.serve.conftest import ADMIN_KEY, LiveServer, write_rules
from tests.serve.test_experiments import DEFINITION, EXPERIMENT, experiment_settings

#: Bounded so that the whole run stays a few seconds on a shared 2-core machine.
MAX_EXAMPLES = 25


@pytest.fixture(scope="module")
def fuzz_server(artifact_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One embedded-store server running an experiment, for the whole fuzz run."""
    import shutil

    tmp = tmp_path_factory.mktemp("fuzz")
    root = Path(shutil.copytree(artifact_template, tmp / "artifacts"))
    write_rules(tmp / "rules.toml")
    # Experiments configured, so the events and progress routes run their real logic under fuzzing.
    definition = tmp / f"{EXPERIMENT}.toml"
    definition.write_text(DEFINITION)
    settings = experiment_settings(root, tmp / "rules.toml", definition, tmp / "events.sqlite3")
    with LiveServer(create_app(settings)) as server:
        yield server


def test_no_server_errors(fuzz_server: LiveServer) -> None:
    """Every operation, ``MAX_EXAMPLES`` generated requests each (admin key set, so admin routes run too)."""
    api = schemathesis.openapi.from_url(f"{fuzz_server.url}/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 10
    statuses: list[int] = []

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        def fuzz(case: schemathesis.Case) -> None:
            response = case.call(base_url=fuzz_server.url, headers={"X-API-Key": ADMIN_KEY})
            statuses.append(response.status_code)
            case.validate_response(response, checks=[not_a_server_error])

        fuzz()
    # The run really exercised the API: many requests, both accepted and refused ones.
    assert len(statuses) >= 5 * len(operations)
    assert any(s == 200 for s in statuses)
    assert any(400 <= s < 500 for s in statuses)
