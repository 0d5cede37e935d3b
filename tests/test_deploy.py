"""The deployment files: compose.yaml runs exactly the commands these tests start, and they answer.

There is no Docker daemon on the test machines, so the compose file cannot be started here. Instead the
commands of its services live in one place, ``deploy/services.toml``: the first test checks that
compose.yaml holds them verbatim (rendered with the compose values), the second starts the same commands
here (free ports, a temporary folder) and checks each answers: Redis with the append-only file on, the
engine ready on that Redis with the champion published, the MLflow server healthy.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
import redis
import yaml

from engine.artifact import write_artifact
from tests.serve.conftest import free_port, make_artifact

ROOT = Path(__file__).resolve().parent.parent
SERVICES = tomllib.loads((ROOT / "deploy" / "services.toml").read_text())
#: How long a service may take to answer after its start on a busy 2-core machine (not a speed bar).
START_DEADLINE_S = 300.0


def render(template: list[str] | Mapping[str, str], values: Mapping[str, str]) -> object:
    """A service's command or environment with ``{name}`` placeholders filled in."""
    if isinstance(template, Mapping):
        return {key: value.format(**values) for key, value in template.items()}
    return [part.format(**values) for part in template]


def test_compose_runs_exactly_the_commands_the_tests_start() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    values = SERVICES["compose"]
    assert set(compose["services"]) == set(SERVICES["services"])
    for name, spec in SERVICES["services"].items():
        service = compose["services"][name]
        assert service["command"] == render(spec["command"], values), name
        wanted = render(spec.get("environment", {}), values)
        assert isinstance(wanted, dict)
        assert {k: service.get("environment", {}).get(k) for k in wanted} == wanted, name
    redis_command = compose["services"]["redis"]["command"]
    assert redis_command[redis_command.index("--appendonly") + 1] == "yes"
    assert redis_command[redis_command.index("--appendfsync") + 1] == "everysec"
    assert compose["services"]["engine"]["build"] == "."


def test_the_dockerfile_builds_a_slim_non_root_serving_image() -> None:
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    stages = [line for line in lines if line.startswith("FROM ")]
    assert len(stages) >= 2, "multi-stage"
    assert all(line.split()[1] == "python:3.11-slim" for line in stages)
    user = [line for line in lines if line.startswith("USER ")]
    assert user
    assert user[-1].split()[1] not in ("root", "0")
    installs = " ".join(line for line in lines if "pip install" in line or "pip wheel" in line)
    assert "[" not in installs, "the image installs the base (serving) dependencies only, no extras"


def _wait(what: str, check: object, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_DEADLINE_S
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{what} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if check():  # type: ignore[operator]
                return
        except (httpx.HTTPError, redis.RedisError, OSError) as exc:
            last = exc
        time.sleep(0.3)
    pytest.fail(f"{what} did not answer in {START_DEADLINE_S}s ({last!r}):\n{log.read_text()[-3000:]}")


@contextmanager
def _started(
    name: str, values: Mapping[str, str], cwd: Path, env: dict[str, str]
) -> Iterator[subprocess.Popen[bytes]]:
    command = render(SERVICES["services"][name]["command"], values)
    assert isinstance(command, list)
    program = Path(sys.executable).parent / command[0]  # the venv's console scripts, else PATH
    argv = [str(program) if program.exists() else command[0], *command[1:]]
    extra = render(SERVICES["services"][name].get("environment", {}), values)
    assert isinstance(extra, dict)
    log = cwd / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, cwd=cwd, env={**env, **extra}, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_the_compose_commands_start_and_answer_here(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    write_artifact(make_artifact("v1"), tmp_path / "artifacts" / "v1")
    (tmp_path / "artifacts" / "CHAMPION").write_text("v1\n")
    ports = {"redis_port": free_port(), "engine_port": free_port(), "mlflow_port": free_port()}
    values = {
        "host": "127.0.0.1",
        "data": str(data),
        "redis_host": "127.0.0.1",
        **{k: str(v) for k, v in ports.items()},
        "mlflow_allowed_hosts": f"127.0.0.1:{ports['mlflow_port']},localhost:{ports['mlflow_port']}",
        "mlflow_workers": "1",  # each worker imports all of MLflow: one starts soonest on 2 busy cores
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("OFFERS_")}
    env["PYTHONPATH"] = str(ROOT)  # this checkout's engine, as the image's installed one
    with ExitStack() as stack:
        redis_proc = stack.enter_context(_started("redis", values, tmp_path, env))
        client = redis.Redis(port=ports["redis_port"], socket_timeout=2)
        stack.callback(client.close)
        _wait("redis", client.ping, redis_proc, tmp_path / "redis.log")
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        assert client.config_get("appendfsync") == {"appendfsync": "everysec"}

        mlflow_proc = stack.enter_context(_started("mlflow", values, tmp_path, env))
        engine_proc = stack.enter_context(_started("engine", values, tmp_path, env))
        engine = f"http://127.0.0.1:{ports['engine_port']}"
        _wait(
            "engine",
            lambda: httpx.get(f"{engine}/readyz", timeout=2).status_code == 200,
            engine_proc,
            tmp_path / "engine.log",
        )
        ready = httpx.get(f"{engine}/readyz", timeout=5).json()
        assert ready["status"] == "ready"
        assert ready.get("durability_warning") is None  # AOF on: nothing to warn about
        # the champion was published into this Redis: the pointer names its key space "<version>@<load>"
        current = client.get("offers:{m}:current")
        assert current is not None
        assert current.split(b"@")[0] == b"v1"
        challenge = httpx.get(f"{engine}/v1/members/1/challenge?week=10", timeout=5)
        assert challenge.status_code == 200, challenge.text
        assert challenge.json()["model_version"] == "v1"

        mlflow = f"http://127.0.0.1:{ports['mlflow_port']}"
        _wait(
            "mlflow",
            lambda: httpx.get(f"{mlflow}/health", timeout=2).text.strip() == "OK",
            mlflow_proc,
            tmp_path / "mlflow.log",
        )
        assert (data / "mlflow.db").exists()
    assert (data / "appendonlydir").is_dir() or any(data.glob("*.aof"))
