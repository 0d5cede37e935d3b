"""One mapping of Redis errors to the engine's own, for every Redis client in the engine.

Both Redis stores (the online store of :mod:`engine.serve.redis_store` and the experiment event store of
:mod:`engine.experiments.redis_store`) and the lean connection of :mod:`engine.redis_wire` raise
redis-py's exception classes; :data:`REDIS_ERRORS` says, in one table, which of ours each becomes:

    ResponseError "CONFLICT ..."   Conflict           a Lua script refused a write that would change a
                                                      week's challenge or an event under the same id
    RedisError, OSError            StoreUnavailable   anything else: the server is away, slow or refusing

Messages name where (:func:`redis_location`: host, port and database, never the credentials of a URL)
and the step that failed.
"""

from __future__ import annotations

from types import TracebackType
from urllib.parse import urlparse

from redis.exceptions import RedisError, ResponseError

from engine.errors import Conflict, OfferEngineError, StoreUnavailable

#: (redis-py class, reply prefix or None, our class): the first row that matches wins.
REDIS_ERRORS: tuple[tuple[type[BaseException], str | None, type[OfferEngineError]], ...] = (
    (ResponseError, "CONFLICT ", Conflict),
    (RedisError, None, StoreUnavailable),
    (OSError, None, StoreUnavailable),
)
#: What a ``with`` block of :class:`RedisErrors` catches.
CAUGHT = (RedisError, OSError)


def redis_location(url: str) -> str:
    """``host:port/db`` of a ``redis://`` URL: what a message may show (no user name, no password)."""
    parsed = urlparse(url)
    db = parsed.path.lstrip("/") or "0"
    return f"{parsed.hostname or '127.0.0.1'}:{parsed.port or 6379}/{db}"


def map_redis_error(exc: BaseException, where: str, during: str) -> OfferEngineError:
    """Our error for ``exc``, raised by Redis at ``where`` during ``during`` (see :data:`REDIS_ERRORS`)."""
    text = str(exc)
    for kind, prefix, ours in REDIS_ERRORS:
        if isinstance(exc, kind) and (prefix is None or text.startswith(prefix)):
            if ours is Conflict:
                return Conflict(text[len(prefix or "") :])
            return ours(f"{where} failed during {during}: {type(exc).__name__}: {text}")
    return StoreUnavailable(f"{where} failed during {during}: {type(exc).__name__}: {text}")


class RedisErrors:
    """``with RedisErrors(where, during):`` turns a Redis or socket error into ours (built once, reused)."""

    __slots__ = ("during", "where")

    def __init__(self, where: str, during: str) -> None:
        self.where = where
        self.during = during

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if isinstance(exc, CAUGHT):
            raise map_redis_error(exc, self.where, self.during) from exc
