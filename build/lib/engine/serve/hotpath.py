"""The outermost middleware: times every request, and answers the two hot routes itself.

Profiling on the 2-core target showed the framework's per-request work (routing, dependency solving,
request objects, the exception middleware stack) costing more CPU than the whole challenge lookup. So
well-formed ``GET /v1/members/{member_id}/challenge[?week=N]`` and ``GET /v1/_bench/ping`` requests are
answered here, calling the same plain functions as the FastAPI routes (which stay registered: they
document the API in OpenAPI and answer everything this fast path does not recognise, e.g. malformed ids
or extra query parameters, with the usual validation errors). Member ids are checked by the same
:func:`~engine.serve.member_ids.member_id_problem` the routes use, so both paths accept the same ids.
Errors use the same renderer as the app's exception handler, so both paths answer identically.
"""

from __future__ import annotations

import logging
import re
import time

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.errors import OfferEngineError, StoreUnavailable
from engine.redaction import redact
from engine.serve.auth import API_KEY_HEADER
from engine.serve.issuance import challenge_for
from engine.serve.member_ids import member_id_problem
from engine.serve.metrics import Metrics
from engine.serve.state import ServeState

log = logging.getLogger(__name__)

CHALLENGE_ROUTE = "/v1/members/{member_id}/challenge"
UNMATCHED = "<unmatched>"
_PREFIX, _SUFFIX = "/v1/members/", "/challenge"
_WEEK = re.compile(rb"^week=([0-9]{1,9})$")
_JSON_HEADERS = [(b"content-type", b"application/json")]
_KEY_HEADER = API_KEY_HEADER.lower().encode()


def render_error(exc: OfferEngineError, metrics: Metrics, path: str) -> tuple[int, bytes]:
    """Status and ``{"error": ..., "detail": ...}`` body for an engine error (logged by severity)."""
    if isinstance(exc, StoreUnavailable):
        metrics.store_unavailable.inc()
        log.warning("store unavailable: %s", exc.message, extra={"path": path})
    elif exc.http_status >= 500:
        log.error("%s: %s", type(exc).__name__, exc.message, extra={"path": path})
    # ``default`` renders objects orjson cannot (they were not redacted as strings when the error was built).
    return exc.http_status, orjson.dumps(exc.to_dict(), default=lambda v: redact(str(v)))


async def _respond(send: Send, status: int, body: bytes) -> None:
    headers = [*_JSON_HEADERS, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class HotPath:
    """Pure ASGI middleware; see the module docstring."""

    def __init__(self, app: ASGIApp, state: ServeState) -> None:
        self.app = app
        self.state = state
        self.metrics = state.metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a hot route directly, or time the app answering anything else."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        path: str = scope["path"]
        if scope["method"] == "GET" and path.startswith(_PREFIX) and path.endswith(_SUFFIX):
            member_id = path[len(_PREFIX) : -len(_SUFFIX)]
            query: bytes = scope["query_string"]
            week_match = _WEEK.match(query) if query else None
            if (not query or week_match) and member_id_problem(member_id) is None:
                week = int(week_match.group(1)) if week_match else None
                status, body = await self._challenge(member_id, week, path, scope)
                await _respond(send, status, body)
                self.metrics.observe(CHALLENGE_ROUTE, "GET", status, time.perf_counter() - start)
                return
        await self._timed(scope, receive, send, start)

    async def _challenge(
        self, member_id: str, week: int | None, path: str, scope: Scope
    ) -> tuple[int, bytes]:
        try:
            if not self.state.keys.reads_open:
                key = next((v for k, v in scope["headers"] if k == _KEY_HEADER), None)
                self.state.keys.check(None if key is None else key.decode("latin-1"), "read")
            decision = await challenge_for(self.state.issuer, member_id, self.state.week(week))
        except OfferEngineError as exc:
            return render_error(exc, self.metrics, path)
        if decision.new:
            self.metrics.decision(decision.status, decision.reason_code, decision.cold_start)
        return 200, decision.payload

    async def _timed(self, scope: Scope, receive: Receive, send: Send, start: float) -> None:
        status = 500

        async def timed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        finally:
            route = getattr(scope.get("route"), "path", UNMATCHED)
            self.metrics.observe(route, scope["method"], status, time.perf_counter() - start)
