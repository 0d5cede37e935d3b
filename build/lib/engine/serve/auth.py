"""Who may call what: API keys with scopes, checked in constant time.

Why API keys with scopes rather than an HMAC signature per source: the callers are a handful of
back-end systems we run (the app backend, the tills' gateway, the messaging platform, admins), each
behind TLS; a key per caller and scope is what their HTTP clients send without custom signing code,
a leaked key is revoked by removing one entry, and the key's *name* (never the secret) is recorded
with every purchase so a leak can be traced. An HMAC per source would add replay protection, which the
purchase route gets instead from idempotent event ids and the challenge-week window.

Scopes::

    read        GET a member's challenge or progress, POST /v1/challenges:batch (the app backend)
    purchases   POST /v1/events/purchases (the point of sale: only tills earn rewards)
    signals     POST /v1/events/signals (opt-outs, unsubscribes, blocked notifications)
    metrics     GET /metrics when ``[auth] metrics = "key"``
    admin       publish, roll back, reload rules, counters

Keys come from ``[auth] keys`` (set them through the environment, never in the file:
``OFFERS_AUTH__KEYS='[{"name": "till-gateway", "key": "...", "scopes": ["purchases"]}]'``) and
``admin_api_key`` (a key with the ``admin`` scope). A scope nobody holds is closed (401), except
``read``: while no key holds it, challenge reads stay anonymous so that a development service works
with no set-up; the service logs a warning at start-up, and configuring one ``read`` key closes them.
Presented keys are hashed and compared with every configured key's hash by
:func:`hmac.compare_digest`, all of them every time, so the answer's timing says nothing about a key.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Literal, get_args

from pydantic import Field, SecretStr

from engine.config import StrictModel
from engine.errors import ConfigError, Forbidden, Unauthorized

Scope = Literal["read", "purchases", "signals", "metrics", "admin"]
SCOPES: tuple[Scope, ...] = get_args(Scope)
#: The one header every key travels in.
API_KEY_HEADER = "X-API-Key"
#: Shorter keys are refused at start-up: 16 random characters are beyond guessing over HTTP.
MIN_KEY_CHARS = 16
#: The key name given to anonymous reads (while no key holds the ``read`` scope).
ANONYMOUS = "anonymous"


class ApiKey(StrictModel):
    """One caller's key: a name for logs and audit (never the secret), the secret, its scopes."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    key: SecretStr
    scopes: frozenset[Scope] = Field(min_length=1)


class AuthConfig(StrictModel):
    """``[auth]`` of ``configs/serve.toml``.

    ``metrics``: ``open`` (anyone may scrape), ``key`` (a key with the ``metrics`` scope) or
    ``disabled`` (404).
    """

    keys: tuple[ApiKey, ...] = ()
    metrics: Literal["open", "key", "disabled"]


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


@dataclass(frozen=True, slots=True)
class _Entry:
    name: str
    digest: bytes
    scopes: frozenset[Scope]


class KeyRing:
    """The configured keys; :meth:`check` says who is calling or refuses the call.

    Raises
    ------
    ConfigError
        A key is shorter than :data:`MIN_KEY_CHARS`, or two keys share a name or a secret (the message
        names the keys, never a secret).
    """

    def __init__(self, config: AuthConfig, admin_api_key: SecretStr) -> None:
        keys = list(config.keys)
        if admin_api_key.get_secret_value():
            keys.append(ApiKey(name="admin", key=admin_api_key, scopes=frozenset({"admin"})))
        names = [k.name for k in keys]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ConfigError(f"[auth] keys: key name(s) {twice} appear more than once")
        digests: dict[bytes, str] = {}
        for key in config.keys:
            secret = key.key.get_secret_value()
            if len(secret) < MIN_KEY_CHARS:
                raise ConfigError(f"[auth] keys: key {key.name!r} is shorter than {MIN_KEY_CHARS} characters")
        entries = []
        for key in keys:
            digest = _digest(key.key.get_secret_value())
            if digest in digests:
                raise ConfigError(f"[auth] keys: keys {digests[digest]!r} and {key.name!r} share one secret")
            digests[digest] = key.name
            entries.append(_Entry(key.name, digest, key.scopes))
        self._entries = tuple(entries)
        self.held: frozenset[Scope] = frozenset(s for e in entries for s in e.scopes)
        self.metrics = config.metrics

    @property
    def reads_open(self) -> bool:
        """Whether challenge reads are anonymous (no key holds the ``read`` scope)."""
        return "read" not in self.held

    def check(self, presented: str | None, scope: Scope) -> str:
        """The name of the key ``presented`` if it holds ``scope``.

        Raises
        ------
        Unauthorized
            No key, an unknown key, or no key is configured for ``scope`` at all.
        Forbidden
            A valid key without ``scope``.
        """
        if scope == "read" and self.reads_open:
            return ANONYMOUS
        if scope not in self.held:
            hint = "OFFERS_ADMIN_API_KEY" if scope == "admin" else "[auth] keys (OFFERS_AUTH__KEYS)"
            raise Unauthorized(f"{scope} calls are disabled: no API key with scope {scope!r} is set ({hint})")
        if not presented:
            raise Unauthorized(f"missing API key: send header {API_KEY_HEADER!r} with a {scope!r} key")
        digest = _digest(presented)
        found: _Entry | None = None
        for entry in self._entries:  # no early exit: every call compares against every key
            if hmac.compare_digest(digest, entry.digest):
                found = entry
        if found is None:
            raise Unauthorized(f"wrong API key in header {API_KEY_HEADER!r}")
        if scope not in found.scopes:
            raise Forbidden(f"API key {found.name!r} does not hold scope {scope!r}")
        return found.name
