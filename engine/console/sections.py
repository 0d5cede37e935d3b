"""A form per rules section, edited in place in the draft's TOML (comments and layout kept, by tomlkit).

Each scalar or list value of a section becomes one form field named by its dotted key
(``eligibility.recency.durable_weeks``); posting the form writes the values back into the draft's text
with the type the draft had (integer, number, true/false, text, list). Keys not in the draft are added in
the raw TOML editor. Whether the values are valid rules is then checked like any draft.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError

from engine.errors import BadRequest

Kind = str  # "int" | "float" | "bool" | "str" | "list"


@dataclass(frozen=True, slots=True)
class Field:
    """One editable value of a section."""

    key: str
    kind: Kind
    value: str


def _kind(value: Any) -> Kind | None:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list):
        return "list"
    return None


def _shown(kind: Kind, value: Any) -> str:
    if kind == "bool":
        return "true" if value else "false"
    if kind == "list":
        return "\n".join(str(v) for v in value)
    return str(value)


def _parse(text: str) -> tomlkit.TOMLDocument:
    try:
        return tomlkit.parse(text)
    except TOMLKitError as exc:
        raise BadRequest(f"the draft is not valid TOML ({exc}): fix it in the raw editor first") from exc


def sections(text: str) -> dict[str, list[Field]]:
    """The form fields of every top-level section of the draft (empty when the draft is not TOML)."""
    try:
        doc = tomlkit.parse(text).unwrap()
    except TOMLKitError:
        return {}
    out: dict[str, list[Field]] = {}

    def walk(prefix: str, table: dict[str, Any], fields: list[Field]) -> None:
        for key, value in table.items():
            path = f"{prefix}.{key}"
            if isinstance(value, dict):
                walk(path, value, fields)
                continue
            kind = _kind(value)
            if kind is not None:
                fields.append(Field(path, kind, _shown(kind, value)))

    for name, table in doc.items():
        if isinstance(table, dict):
            fields: list[Field] = []
            walk(name, table, fields)
            out[name] = fields
    return out


def _coerce(key: str, kind: Kind, raw: str) -> Any:
    raw = raw.strip()
    try:
        if kind == "bool":
            if raw not in ("true", "false"):
                raise ValueError("true or false")
            return raw == "true"
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "list":
            items = [line.strip() for line in raw.replace(",", "\n").splitlines() if line.strip()]
            # item ids are integers in the data; names (departments, categories) are never all digits
            return [int(v) if v.lstrip("-").isdigit() else v for v in items]
    except ValueError as exc:
        raise BadRequest(f"{key}: {raw!r} is not a valid {kind} value") from exc
    return raw


def apply_section(text: str, section: str, values: dict[str, str]) -> str:
    """The draft ``text`` with the posted values of ``section`` written in; unknown keys are refused."""
    doc = _parse(text)
    known = {f.key: f for f in sections(text).get(section, [])}
    if not known:
        raise BadRequest(f"the draft has no section [{section}]")
    for key, raw in values.items():
        field = known.get(key)
        if field is None:
            raise BadRequest(f"{key}: not a key of section [{section}] in the draft")
        *parents, leaf = key.split(".")
        table: Any = doc
        for part in parents:
            table = table[part]
        table[leaf] = _coerce(key, field.kind, raw)
    return tomlkit.dumps(doc)
