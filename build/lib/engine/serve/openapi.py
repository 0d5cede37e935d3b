"""The OpenAPI spec states the bounds the service enforces, so clients and fuzzers see them.

Some bounds come from settings, not from the route definitions: the served week range
(``[calendar]``), the most members in a batch (``max_batch``) and purchase events in one post
(``[experiments] max_events``). :func:`state_bounds` writes them into the generated spec, next to the
bounds the schemas carry themselves (member ids: :mod:`engine.serve.member_ids`; model versions:
:data:`~engine.serve.publish.VERSION_PATTERN`). The routes enforce each one with a 422 naming it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from engine.serve.publish import VERSION_MAX_LENGTH, VERSION_PATTERN
from engine.serve.settings import Settings

Schema = dict[str, Any]


def _bound_integer(schema: Schema, minimum: int, maximum: int) -> None:
    """Set the bounds on ``schema`` or on the integer branch of its ``anyOf`` (an optional integer)."""
    for branch in schema.get("anyOf", [schema]):
        if branch.get("type") == "integer":
            branch["minimum"] = max(minimum, branch.get("minimum", minimum))
            branch["maximum"] = min(maximum, branch.get("maximum", maximum))


def apply_bounds(spec: Schema, settings: Settings) -> Schema:
    """Write the settings' bounds into ``spec`` (in place; returned for convenience)."""
    low, high = settings.calendar.min_week, settings.calendar.max_week
    for path in spec.get("paths", {}).values():
        for operation in path.values():
            for parameter in operation.get("parameters", []):
                if parameter["name"] == "week" and parameter["in"] == "query":
                    _bound_integer(parameter["schema"], low, high)
                elif parameter["name"] == "version" and parameter["in"] == "path":
                    parameter["schema"].update(pattern=VERSION_PATTERN.pattern, maxLength=VERSION_MAX_LENGTH)
    components: dict[str, Schema] = spec.get("components", {}).get("schemas", {})
    for name, component in components.items():
        properties: dict[str, Schema] = component.get("properties", {})
        if "week" in properties and not name.endswith(("Response", "Progress", "Preview")):
            _bound_integer(properties["week"], low, high)
    batch = components.get("BatchRequest", {}).get("properties", {}).get("member_ids")
    if batch is not None:
        batch["maxItems"] = settings.max_batch
    events = components.get("PurchaseBatch", {}).get("properties", {}).get("events")
    if events is not None and settings.experiments is not None:
        events["maxItems"] = settings.experiments.max_events
    return spec


def state_bounds(app: FastAPI, settings: Settings) -> None:
    """Make ``app.openapi()`` return the generated spec with :func:`apply_bounds` applied."""
    generate: Callable[[], Schema] = app.openapi

    def openapi() -> Schema:
        if app.openapi_schema is None:
            app.openapi_schema = apply_bounds(generate(), settings)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
