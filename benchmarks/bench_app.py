"""The service as ``offers serve`` builds it, plus the benchmark's own floor route (never in production).

``GET /v1/_bench/ping`` answers one plain Redis ``GET`` over the same lean async connection type the
Redis store uses, in a pure ASGI middleware outside the app: the floor that :mod:`bench_serve` compares
the challenge route with. Run by ``bench_serve.py`` as ``uvicorn --app-dir benchmarks bench_app:app
--factory``; settings come from ``OFFERS_*`` like a worker of ``offers serve --workers N``.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from engine.redis_wire import WireClient
from engine.serve.app import app_from_environment
from engine.serve.settings import settings_from_environment

PING_ROUTE = "/v1/_bench/ping"
_PONG = b'{"ok":true}'
_HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(_PONG)).encode())]


class BenchPing:
    """Answers :data:`PING_ROUTE` with one Redis GET; hands everything else to the service."""

    def __init__(self, inner: ASGIApp, redis_url: str, key: str, timeout_s: float) -> None:
        self.inner = inner
        self.key = key
        self.wire = WireClient.from_url(redis_url, timeout_s, timeout_s)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the ping, or pass the request on."""
        if scope["type"] != "http" or scope["path"] != PING_ROUTE:
            await self.inner(scope, receive, send)
            return
        await self.wire.execute("GET", self.key)
        await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
        await send({"type": "http.response.body", "body": _PONG})


def app() -> ASGIApp:
    """uvicorn factory: the production app wrapped in :class:`BenchPing` (Redis store settings)."""
    settings = settings_from_environment()
    if settings.store.type != "redis":
        raise SystemExit("the serving benchmark needs the Redis store (OFFERS_STORE__TYPE=redis)")
    key = f"{settings.store.key_prefix}:bench"
    return BenchPing(app_from_environment(), settings.store.url, key, settings.store.socket_timeout_s)
