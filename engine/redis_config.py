"""Where Redis is: one node or a Redis Cluster, plain or TLS; the config shape both Redis stores share.

:class:`RedisConnection` is the part of a store's config that says where Redis is:

    url           ``redis://[[user]:password@]host[:port][/db]``, or ``rediss://`` for TLS
    cluster       ``true``: ``url`` names any one node of a Redis Cluster (the others are discovered);
                  a cluster has database 0 only
    tls_ca_file   the CA bundle that signed the server's certificate (``rediss://`` only; without it the
                  system's trusted CAs are used)
    buckets       how many hash slots each member's keys are spread over (:mod:`engine.redis_slots`)

Every message built here names the host, port and database (:meth:`RedisConnection.location`), never
the credentials of a URL. Validation only: no Redis client is imported here (the clients are built by
:mod:`engine.redis_connect`).
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pydantic import Field, field_validator, model_validator

from engine.config import StrictModel
from engine.redis_slots import MAX_BUCKETS

SCHEMES = ("redis", "rediss")
DEFAULT_PORT = 6379


def _url_problem(url: str) -> str | None:
    """Why ``url`` is not a usable Redis URL (never quoting its credentials), or None."""
    try:
        parsed = urlparse(url)
        port = parsed.port
    except ValueError as exc:
        return f"not a valid URL ({exc})"
    if parsed.scheme not in SCHEMES:
        return f"must start with redis:// or rediss:// (TLS), not {parsed.scheme or 'no scheme'}://"
    if not parsed.hostname:
        return "names no host"
    if port == 0:
        return "port 0 is not a port Redis listens on"
    db = parsed.path.lstrip("/")
    if db and not db.isdigit():
        return f"database must be a number after the host (/0, /1, ...), not {db!r}"
    if parsed.query or parsed.fragment:
        return "takes no ?query or #fragment (TLS files go in tls_ca_file)"
    return None


class RedisConnection(StrictModel):
    """Where Redis is (see the module docstring); a base of each Redis store's config."""

    url: str = Field(description="redis:// or rediss:// (TLS) URL")
    cluster: bool = Field(default=False, description="url names a node of a Redis Cluster")
    tls_ca_file: Path | None = Field(default=None, description="CA bundle for rediss:// (None: system CAs)")
    buckets: int = Field(
        default=1, ge=1, le=MAX_BUCKETS, description="hash slots each member's keys are spread over"
    )

    @field_validator("url")
    @classmethod
    def _check_url(cls, url: str) -> str:
        problem = _url_problem(url)
        if problem is not None:
            # The message is all the caller sees of the value; the URL itself may hold a password.
            raise ValueError(f"the Redis URL {problem}")
        return url

    @model_validator(mode="after")
    def _consistent(self) -> RedisConnection:
        if self.cluster and self.db != 0:
            raise ValueError(f"a Redis Cluster has only database 0; the URL names database {self.db}")
        if self.tls_ca_file is not None and not self.tls:
            raise ValueError("tls_ca_file is set but the URL is redis://; use rediss:// for TLS")
        if self.tls_ca_file is not None and not self.tls_ca_file.is_file():
            raise ValueError(f"tls_ca_file {self.tls_ca_file}: no such file")
        return self

    @property
    def tls(self) -> bool:
        """Whether connections use TLS (``rediss://``)."""
        return urlparse(self.url).scheme == "rediss"

    @property
    def db(self) -> int:
        """The database number of the URL (0 when none)."""
        return int(urlparse(self.url).path.lstrip("/") or 0)

    @property
    def tagged(self) -> bool:
        """Whether member keys carry a hash tag (:mod:`engine.redis_slots`)."""
        return self.cluster or self.buckets > 1

    def location(self) -> str:
        """``host:port/db`` (``cluster via host:port``, ``tls`` when so): what a message may show."""
        parsed = urlparse(self.url)
        where = f"{parsed.hostname}:{parsed.port or DEFAULT_PORT}"
        where = f"cluster via {where}" if self.cluster else f"{where}/{self.db}"
        return f"{where} (tls)" if self.tls else where

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context of a ``rediss://`` URL (verifying the server against ``tls_ca_file``)."""
        if not self.tls:
            return None
        return ssl.create_default_context(cafile=None if self.tls_ca_file is None else str(self.tls_ca_file))

    def redis_py_options(self) -> dict[str, Any]:
        """Extra redis-py connection options (the CA bundle of a rediss:// URL)."""
        if not self.tls or self.tls_ca_file is None:
            return {}
        return {"ssl_ca_certs": str(self.tls_ca_file)}
