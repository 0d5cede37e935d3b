"""Settings from TOML and environment; the serving process never imports training or MLflow."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from engine.config import CONFIG_DIR
from engine.errors import BadRequest, ConfigError, OfferEngineError
from engine.serve.calendar import WeekCalendar
from engine.serve.embedded import EmbeddedStoreConfig
from engine.serve.redis_store import RedisStoreConfig
from engine.serve.settings import CalendarConfig, load_settings


def test_shipped_config_defaults_to_the_embedded_store() -> None:
    settings = load_settings()
    assert isinstance(settings.store, EmbeddedStoreConfig)
    assert settings.port == 8000


def test_environment_overrides_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OFFERS_STORE__TYPE", "redis")
    monkeypatch.setenv("OFFERS_STORE__URL", "redis://10.0.0.5:6380/2")
    monkeypatch.setenv("OFFERS_PORT", "9100")
    settings = load_settings()
    assert isinstance(settings.store, RedisStoreConfig)
    assert settings.store.url == "redis://10.0.0.5:6380/2"
    assert settings.port == 9100


def test_unknown_store_type_and_keys_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OFFERS_STORE__TYPE", "memcached")
    with pytest.raises(ConfigError, match="store"):
        load_settings()
    monkeypatch.delenv("OFFERS_STORE__TYPE")
    bad = tmp_path / "serve.toml"
    bad.write_text((CONFIG_DIR / "serve.toml").read_text() + "\nprot = 1\n")
    with pytest.raises(ConfigError, match="prot"):
        load_settings(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "missing.toml")


def test_calendar_weeks() -> None:
    calendar = WeekCalendar(CalendarConfig(week1_start=dt.date(2026, 1, 5), min_week=1, max_week=100))
    assert calendar.week_at(dt.datetime(2026, 1, 5, tzinfo=dt.UTC)) == 1
    assert calendar.week_at(dt.datetime(2026, 1, 11, 23, 59, tzinfo=dt.UTC)) == 1
    assert calendar.week_at(dt.datetime(2026, 1, 12, tzinfo=dt.UTC)) == 2
    assert calendar.expires(1) == dt.datetime(2026, 1, 12, tzinfo=dt.UTC)
    with pytest.raises(BadRequest, match="outside the served range"):
        calendar.week_at(dt.datetime(2025, 12, 31, tzinfo=dt.UTC))
    with pytest.raises(BadRequest):
        calendar.check(101)


def test_serving_never_imports_training_or_mlflow() -> None:
    code = (
        "import sys; import engine.serve.app, engine.serve.experiment, engine.cli.serve_cmd; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('mlflow', 'lightfm') "
        "or m == 'engine.train' or m.startswith('engine.train.')); print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_experiments_section(tmp_path: Path) -> None:
    shipped = (Path(__file__).resolve().parents[2] / "experiments" / "star_challenge_v1.toml").read_text()
    first = tmp_path / "star_challenge_v1.toml"
    first.write_text(shipped)
    section = {"definitions": [str(first)], "max_events": 10, "progress_cache_entries": 10}
    assert load_settings().experiments is None  # shipped: no experiment runs
    settings = load_settings(experiments=section)
    assert settings.experiments is not None
    assert settings.experiments.store is None  # the event store of configs/experiments.toml
    with pytest.raises(ConfigError, match="experiments"):
        load_settings(experiments={**section, "colour": "red"})
    # Two experiments in the same weeks would both claim every member: refused at start-up.
    second = tmp_path / "second.toml"
    second.write_text(
        shipped.replace('name = "star_challenge_v1"', 'name = "second"').replace("2024a", "2024b")
    )
    both = load_settings(experiments={**section, "definitions": [str(first), str(second)]})
    from engine.serve.experiment import ExperimentRuntime

    assert both.experiments is not None
    with pytest.raises(OfferEngineError, match="overlap"):
        ExperimentRuntime.from_config(both.experiments)
