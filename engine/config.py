"""Reading TOML config files into pydantic models, with errors a marketer can act on.

Each stage keeps its own config model beside its implementation (``engine/rules/config.py`` and so on);
all of them derive from :class:`StrictModel`, which refuses unknown keys. This module only reads files.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from engine.errors import ConfigError

#: Where the shipped configs live: ``engine/configs/``, package data, so a wheel install has them too. The
#: one place config paths are resolved from: a relative path inside a config (``margins = "margins.toml"``,
#: ``rules_path = "rules.toml"``) is looked up here; give an absolute path (or ``--config FILE``) for a
#: file of your own.
CONFIG_DIR = Path(__file__).resolve().parent / "configs"


class StrictModel(BaseModel):
    """Base for every config model: unknown keys are refused, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


M = TypeVar("M", bound=BaseModel)


def format_validation_error(source: str, exc: ValidationError) -> str:
    """Render a pydantic error as one line per problem: ``file: key.path: message (got value)``."""
    lines = [f"{source}: {exc.error_count()} problem(s)"]
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "<top level>"
        got = f" (got {err['input']!r})" if err["type"] != "missing" and "input" in err else ""
        lines.append(f"  - {where}: {err['msg']}{got}")
    return "\n".join(lines)


def read_toml(path: Path, error: type[ConfigError] = ConfigError) -> dict[str, object]:
    """Read a TOML file into a dict; a missing or malformed file raises ``error`` naming the file."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise error(f"{path}: config file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: not valid TOML: {exc}") from exc


def parse_config(
    data: dict[str, object], model: type[M], source: str, error: type[ConfigError] = ConfigError
) -> M:
    """Validate an already-read mapping against ``model``; errors name ``source`` and each bad key."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(format_validation_error(source, exc), detail=exc.errors(include_url=False)) from exc


def load_config(path: Path | str, model: type[M], error: type[ConfigError] = ConfigError) -> M:
    """Read and validate a TOML file against ``model``."""
    path = Path(path)
    return parse_config(read_toml(path, error), model, str(path), error)
