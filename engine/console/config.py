"""The console's settings: ``configs/console.toml`` validated by :class:`ConsoleConfig`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from engine.config import CONFIG_DIR, StrictModel, load_config

#: The shipped console config.
CONSOLE_CONFIG = CONFIG_DIR / "console.toml"

Role = Literal["marketer", "analyst", "admin"]
ROLES: tuple[Role, ...] = ("marketer", "analyst", "admin")


class ConsoleConfig(StrictModel):
    """Where the console keeps its data, and its sign-in and approval policy (see the shipped file)."""

    database: Path
    session_ttl_s: Annotated[int, Field(ge=60)]
    cookie_secure: bool
    cookie_samesite: Literal["strict", "lax"]
    max_failed_logins: Annotated[int, Field(ge=1)]
    lockout_s: Annotated[int, Field(ge=1)]
    min_password_length: Annotated[int, Field(ge=8)]
    approver_roles: tuple[Role, ...] = ("marketer", "admin")
    history_weeks: Annotated[int, Field(ge=0, le=52)]
    experiments_dir: Path
    reports_dir: Path


def load_console_config(path: Path | str | None = None, **overrides: object) -> ConsoleConfig:
    """Read ``path`` (default: ``configs/console.toml``); ``overrides`` replace top-level keys (tests)."""
    config = load_config(CONSOLE_CONFIG if path is None else path, ConsoleConfig)
    if not overrides:
        return config
    return ConsoleConfig.model_validate({**config.model_dump(), **overrides})
