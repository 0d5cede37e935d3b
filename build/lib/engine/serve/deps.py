"""FastAPI dependencies of the routes: the app's state and the API key scope each route needs.

Each scope is its own OpenAPI security scheme (``ReadKey``, ``PurchasesKey``, ...; all the
``X-API-Key`` header), so ``/openapi.json`` says which credential every operation takes. The check
itself is :meth:`engine.serve.auth.KeyRing.check`, the same the fast path of
:mod:`engine.serve.hotpath` runs.

No ``from __future__ import annotations`` here: FastAPI must see the closure's ``Security(header)``
annotation as an object, not as a string naming a local variable it cannot resolve.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated, NamedTuple

from fastapi import Depends, Request, Security
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader

from engine.errors import BadRequest
from engine.serve.auth import API_KEY_HEADER, Scope
from engine.serve.state import ServeState

_WHAT: dict[Scope, str] = {
    "read": "the app backend's key; required once any key with the read scope is configured",
    "purchases": "the point of sale's key: only tills post purchases",
    "signals": "the key of the system reporting opt-outs, unsubscribes and blocked notifications",
    "metrics": "required when [auth] metrics = 'key'",
    "admin": "an admin key (OFFERS_ADMIN_API_KEY or a key with the admin scope)",
}


class Access(NamedTuple):
    """What an authorised route works with: the app's state and the calling key's name."""

    state: ServeState
    caller: str


def serve_state(request: Request) -> ServeState:
    """The state :func:`engine.serve.app.create_app` attached to the app."""
    state: ServeState = request.app.state.serve
    return state


def requires(scope: Scope) -> Callable[..., Awaitable[Access]]:
    """A dependency that admits only keys holding ``scope`` (and documents it in OpenAPI)."""
    header = APIKeyHeader(
        name=API_KEY_HEADER,
        scheme_name=f"{scope.capitalize()}Key",
        description=f"API key with scope {scope!r}: {_WHAT[scope]}",
        auto_error=False,
    )

    async def dependency(request: Request, key: Annotated[str | None, Security(header)]) -> Access:
        state = serve_state(request)
        return Access(state, state.keys.check(key, scope))

    return dependency


ReadAccess = Annotated[Access, Depends(requires("read"))]
PurchasesAccess = Annotated[Access, Depends(requires("purchases"))]
SignalsAccess = Annotated[Access, Depends(requires("signals"))]
AdminAccess = Annotated[Access, Depends(requires("admin"))]
#: The metrics route checks the key itself (``[auth] metrics`` decides whether one is needed).
MetricsKey = Annotated[
    str | None,
    Security(
        APIKeyHeader(
            name=API_KEY_HEADER,
            scheme_name="MetricsKey",
            description=f"API key with scope 'metrics': {_WHAT['metrics']}",
            auto_error=False,
        )
    ),
]


async def known_query_only(request: Request) -> None:
    """Refuse query parameters the route does not take (a typo such as ``?wek=3`` is not ignored)."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    allowed = _query_names(route.dependant)
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        takes = f"it takes {sorted(allowed)}" if allowed else "it takes none"
        raise BadRequest(f"unknown query parameter(s) {unknown} for {route.path}: {takes}")


def _query_names(dependant: Dependant) -> set[str]:
    """The query parameter names a route and its dependencies take."""
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names
