"""A lean pipelined Redis connection for the request hot path (hiredis parser, one asyncio protocol).

Why not redis-py's asyncio client here: measured on the 2-core target, one ``await client.get()`` inside
uvicorn cost ~180 us of CPU (pool checkout, locks, retry and observability wrappers, stream reader
wake-ups) against ~125 us for the whole rest of the request. This client keeps one connection, writes
each command as soon as it is called (concurrent requests pipeline on the wire by themselves) and
matches replies to waiting futures in order, with hiredis doing the parsing. redis-py still does
everything else (publishing, admin, counters); :class:`~engine.serve.redis_store.RedisStore` uses this
only for its hot commands, and the Redis experiment event store for the exposure writes of serving.

Failure: a command that gets no reply within ``timeout_s`` aborts the connection, which fails every
command waiting on it at once; the next command reconnects (bounded by ``connect_timeout_s``). Errors
are redis-py's exception classes, so the store wraps them like any other Redis error.
"""

from __future__ import annotations

import asyncio
import ssl as ssl_lib
from collections import deque
from typing import Any, Protocol, cast
from urllib.parse import unquote, urlparse

import hiredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.reader = hiredis.Reader()
        self.pending: deque[asyncio.Future[Any]] = deque()
        self.transport: asyncio.Transport | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement the interface without subclassing asyncio.Transport.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while (reply := self.reader.gets()) is not False:
            future = self.pending.popleft()
            if not future.done():  # a timed-out command's reply still arrives, in order: drop it
                future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        error = RedisConnectionError(f"connection to Redis lost: {exc or 'closed by server'}")
        while self.pending:
            future = self.pending.popleft()
            if not future.done():
                future.set_exception(error)

    def abort(self, error: Exception) -> None:
        self.closed = True
        while self.pending:
            future = self.pending.popleft()
            if not future.done():
                future.set_exception(error)
        if self.transport is not None:
            self.transport.abort()


class Wire(Protocol):
    """What the hot path sends: commands and scripts routed by their first key (one node or a cluster)."""

    async def call(self, key: str, *args: Any) -> Any:
        """Run one command (``args``, key included) whose first key is ``key``."""
        ...

    async def evalsha(self, sha: str, script: str, keys: list[str], args: list[Any]) -> Any:
        """Run a Lua script by SHA1 (loading it if the server lost it); all ``keys`` share one slot."""
        ...

    async def close(self) -> None:
        """Close the connections."""
        ...


class WireClient:
    """One pipelined connection to one Redis server (see :meth:`from_url` for a ``redis://`` URL)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        db: int = 0,
        username: str | None = None,
        password: str | None = None,
        timeout_s: float,
        connect_timeout_s: float,
        ssl: ssl_lib.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.ssl = ssl
        self.port = port
        self.db = db
        self.username = username
        self.password = password
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self._proto: _Protocol | None = None
        self._connecting: asyncio.Lock | None = None

    @classmethod
    def from_url(cls, url: str, timeout_s: float, connect_timeout_s: float) -> WireClient:
        """A client for ``redis://[[user]:password@]host[:port][/db]`` (``rediss://``: TLS, system CAs)."""
        parsed = urlparse(url)
        if parsed.scheme not in ("redis", "rediss"):
            raise ValueError("the lean Redis client needs a redis:// or rediss:// URL")
        return cls(
            parsed.hostname or "127.0.0.1",
            parsed.port or 6379,
            db=int(parsed.path.lstrip("/") or 0),
            username=unquote(parsed.username) if parsed.username else None,
            password=unquote(parsed.password) if parsed.password else None,
            timeout_s=timeout_s,
            connect_timeout_s=connect_timeout_s,
            ssl=ssl_lib.create_default_context() if parsed.scheme == "rediss" else None,
        )

    async def _connect(self) -> _Protocol:
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:  # one reconnect for a burst of callers, not one each
            current = self._proto
            if current is not None and not current.closed and current.transport is not None:
                return current
            loop = asyncio.get_running_loop()
            try:
                _, proto = await asyncio.wait_for(
                    loop.create_connection(_Protocol, self.host, self.port, ssl=self.ssl),
                    self.connect_timeout_s,
                )
            except TimeoutError as exc:
                raise RedisTimeoutError(f"timeout connecting to Redis at {self.host}:{self.port}") from exc
            except OSError as exc:
                where = f"{self.host}:{self.port}"
                raise RedisConnectionError(f"cannot connect to Redis at {where}: {exc}") from exc
            self._proto = proto
            if self.password is not None:
                auth = ("AUTH", self.username, self.password) if self.username else ("AUTH", self.password)
                await self.execute(*auth)
            if self.db:
                await self.execute("SELECT", self.db)
            return proto

    async def execute(self, *args: Any) -> Any:
        """Send one command and wait for its reply; error replies raise :class:`ResponseError`."""
        proto = self._proto
        if proto is None or proto.closed or proto.transport is None or proto.transport.is_closing():
            if proto is not None:
                proto.closed = True
            proto = await self._connect()
        assert proto.transport is not None
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        proto.pending.append(future)
        proto.transport.write(hiredis.pack_command(args))
        timer = loop.call_later(self.timeout_s, self._expire, proto, future)
        try:
            reply = await future
        finally:
            timer.cancel()
        if isinstance(reply, hiredis.ReplyError):
            raise ResponseError(str(reply))
        return reply

    async def call(self, key: str, *args: Any) -> Any:
        """:meth:`execute` (one server holds every key; ``key`` only matters to a cluster)."""
        return await self.execute(*args)

    def _expire(self, proto: _Protocol, future: asyncio.Future[Any]) -> None:
        if not future.done():
            # Redis is stuck or gone: fail everything queued on this connection now, reconnect later.
            proto.abort(RedisTimeoutError(f"no reply from Redis within {self.timeout_s}s"))

    async def evalsha(self, sha: str, script: str, keys: list[str], args: list[Any]) -> Any:
        """Run a Lua script by its SHA1, loading it first if the server does not know it (e.g. after a
        restart)."""
        try:
            return await self.execute("EVALSHA", sha, len(keys), *keys, *args)
        except ResponseError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
        await self.execute("SCRIPT", "LOAD", script)
        return await self.execute("EVALSHA", sha, len(keys), *keys, *args)

    async def close(self) -> None:
        """Close the connection."""
        if self._proto is not None and self._proto.transport is not None:
            self._proto.transport.close()
        self._proto = None
