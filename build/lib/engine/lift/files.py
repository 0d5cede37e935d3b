"""Lift files on disk: read, render as TOML, write (validated and read back first). Format:
:mod:`engine.rules.lift`.

Both ``offers lift estimate`` (:mod:`engine.lift.write`) and ``offers experiment analyze``
(:mod:`engine.experiments.report`) write through :func:`write_lift_file`, so the guards read one format
whatever produced it.
"""

from __future__ import annotations

import json
import math
import tomllib
from datetime import date
from pathlib import Path

from engine.config import CONFIG_DIR, parse_config, read_toml
from engine.errors import ConfigError
from engine.rules.lift import LiftFile

#: The shipped lift file.
DEFAULT_LIFT_FILE = CONFIG_DIR / "lifts.toml"
#: The file format's own description, on top of every written file.
FORMAT_HEADER = (
    "# How much an offer raises a pick's purchase probability: logit(p_offer) = logit(p_base) + log_odds\n"
    "# (engine/rules/lift.py). The guards use a conservative quantile of each estimate\n"
    "# (economic_guard.lift_quantile in rules.toml), never the point estimate."
)


def _value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ConfigError(f"lift file: cannot write the non-finite number {v}")
        return repr(v)
    if isinstance(v, int | date):
        return str(v) if isinstance(v, int) else v.isoformat()
    return json.dumps(str(v), ensure_ascii=False)  # a JSON string is a valid TOML basic string


def render_lift_file(lift_file: LiftFile, header: list[str]) -> str:
    """The TOML text of ``lift_file``: the format's header, ``header`` lines as comments, the entries."""
    lines = [FORMAT_HEADER, "#", *(f"# {h}" if h else "#" for h in header)]
    for entry in lift_file.lift:
        lines += ["", "[[lift]]"]
        lines += [f"{k} = {_value(v)}" for k, v in entry.model_dump().items()]
    return "\n".join(lines) + "\n"


def parse_lift_text(text: str, source: str) -> LiftFile:
    """A lift file from its TOML text; errors name ``source`` and each bad key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
    return parse_config(data, LiftFile, source)


def read_lift_file(path: Path = DEFAULT_LIFT_FILE) -> LiftFile:
    """Read and validate a lift file (the shipped one by default)."""
    return parse_config(read_toml(path), LiftFile, str(path))


def write_lift_file(lift_file: LiftFile, header: list[str], path: Path) -> Path:
    """Validate ``lift_file``, check that its text reads back the same, then write it to ``path``."""
    text = render_lift_file(LiftFile.model_validate(lift_file.model_dump()), header)
    if parse_lift_text(text, str(path)) != lift_file:
        raise ConfigError(f"{path}: the rendered lift file does not read back the same (not written)")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
