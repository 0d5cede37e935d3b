"""Serving settings: the only module in the engine that reads environment variables.

Values come, highest priority first, from keyword arguments, ``OFFERS_*`` environment variables (nested
keys joined with ``__``, e.g. ``OFFERS_STORE__TYPE=redis``) and ``configs/serve.toml``. The store is picked
by a discriminated union on ``type``, so a typo in a store setting is refused instead of ignored.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from engine.config import CONFIG_DIR, StrictModel, format_validation_error
from engine.errors import ConfigError
from engine.serve.auth import AuthConfig
from engine.serve.embedded import EmbeddedOptions, EmbeddedStoreConfig
from engine.serve.experiment_config import ExperimentsServeConfig
from engine.serve.redis_store import RedisStoreConfig

#: The shipped serving config.
SERVE_CONFIG = CONFIG_DIR / "serve.toml"
#: Names another serving config file; read only by :func:`settings_from_environment` (worker processes).
CONFIG_FILE_VARIABLE = "OFFERS_SERVE_CONFIG"

StoreConfig = Annotated[EmbeddedStoreConfig | RedisStoreConfig, Field(discriminator="type")]


class CalendarConfig(StrictModel):
    """How calendar dates map to challenge weeks."""

    week1_start: dt.date
    min_week: int = Field(ge=1)
    max_week: int = Field(ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> CalendarConfig:
        if self.max_week < self.min_week:
            raise ValueError(f"max_week {self.max_week} is below min_week {self.min_week}")
        return self


class IssuanceConfig(StrictModel):
    """How long issued challenges are kept, and how many members unknown to the model are stored."""

    retention_days: int = Field(ge=1)
    history_retention_days: int = Field(ge=1)
    cold_start_per_week: int = Field(ge=0)


class MetricsConfig(StrictModel):
    """Prometheus metric shapes."""

    latency_buckets_s: tuple[float, ...] = Field(min_length=1)
    #: Where worker processes keep their values (several workers); None: each process keeps its own.
    multiprocess_dir: Path | None = None


class Settings(BaseSettings):
    """Everything the service needs to start; see ``configs/serve.toml`` for each key's meaning."""

    model_config = SettingsConfigDict(
        env_prefix="OFFERS_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        toml_file=SERVE_CONFIG,
    )

    host: str
    port: int = Field(ge=0, le=65535)
    artifact_root: Path
    rules_path: Path
    #: Message templates and send window (``configs/messages.toml``); None: answers carry no message.
    messages_path: Path | None = CONFIG_DIR / "messages.toml"
    #: A key with the ``admin`` scope (empty: admin calls are refused); see :mod:`engine.serve.auth`.
    admin_api_key: SecretStr
    rules_check_interval_s: float = Field(ge=0)
    max_batch: int = Field(ge=1)
    batch_concurrency: int = Field(ge=1)
    workers: int = Field(ge=1)
    publish_on_start: Literal["never", "if_empty", "always"]
    republish_when_empty: bool
    republish_retry_s: float = Field(gt=0)
    log_level: Literal["debug", "info", "warning", "error"]
    calendar: CalendarConfig
    issuance: IssuanceConfig
    store: StoreConfig
    embedded: EmbeddedOptions
    metrics: MetricsConfig
    auth: AuthConfig
    #: None: no experiment runs (no arms, no exposures, no progress, no events endpoint).
    experiments: ExperimentsServeConfig | None = None

    @field_validator("rules_path", "messages_path")
    @classmethod
    def _relative_to_configs(cls, value: Path | None) -> Path | None:
        # Like the data and training configs: a relative path names a file in the shipped configs folder.
        return value if value is None or value.is_absolute() else CONFIG_DIR / value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword arguments, then environment, then the TOML file (no .env, no secrets dir)."""
        toml_file = settings_cls.model_config.get("toml_file", SERVE_CONFIG)
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=toml_file)


def load_settings(config_file: Path | str | None = None, **overrides: object) -> Settings:
    """Build :class:`Settings` from ``config_file`` (default ``configs/serve.toml``), env and ``overrides``.

    Parameters
    ----------
    config_file
        A TOML file with the same keys as ``configs/serve.toml``.
    **overrides
        Keys that win over both the file and the environment (tests and the CLI use them).

    Raises
    ------
    ConfigError
        The file is missing or a value is invalid; the message names the file and each bad key.
    """
    path = Path(config_file) if config_file is not None else SERVE_CONFIG
    if not path.is_file():
        raise ConfigError(f"{path}: serving config file not found")

    class _FromFile(Settings):
        model_config = SettingsConfigDict(toml_file=path)

    try:
        return _FromFile(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        if _touches_keys(exc):
            # An API key entry is wrong: say where, never what (the values may be secrets), and drop
            # pydantic's own error, whose text quotes them.
            raise ConfigError(_keys_error(f"{path} (+ OFFERS_* environment)", exc)) from None
        raise ConfigError(
            format_validation_error(f"{path} (+ OFFERS_* environment)", exc),
            detail=exc.errors(include_url=False),
        ) from exc
    except ValueError as exc:  # a malformed TOML file or a non-JSON nested env value
        raise ConfigError(f"{path} (+ OFFERS_* environment): {exc}") from exc


#: Where settings hold secrets: validation errors there never quote the value.
_SECRET_FIELDS = ("auth", "admin_api_key")


def _touches_keys(exc: ValidationError) -> bool:
    return any(err["loc"][:1] and err["loc"][0] in _SECRET_FIELDS for err in exc.errors())


def _keys_error(source: str, exc: ValidationError) -> str:
    lines = [f"{source}: {exc.error_count()} problem(s) (values not shown: they may be secrets)"]
    for err in exc.errors():
        lines.append(f"  - {'.'.join(str(p) for p in err['loc']) or '<top level>'}: {err['msg']}")
    return "\n".join(lines)


def settings_from_environment() -> Settings:
    """Settings for a worker process: the file named by ``OFFERS_SERVE_CONFIG`` (if set) plus ``OFFERS_*``."""
    return load_settings(os.environ.get(CONFIG_FILE_VARIABLE))
