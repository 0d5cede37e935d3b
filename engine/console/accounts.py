"""Console users and sessions: argon2 password hashes, lock-out after failed sign-ins, server-side sessions.

A session's token lives only in the browser's cookie; the database keeps its SHA-256, so a copy of the
file does not let anyone sign in. Every session (also the anonymous one that shows the sign-in form)
has its own CSRF token: the synchronizer token each form carries and every POST must echo.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from engine.console.config import ROLES, ConsoleConfig, Role
from engine.console.db import ConsoleDB
from engine.errors import BadRequest, Conflict, Unauthorized

_HASHER = PasswordHasher()
#: Verified against for unknown user names, so a sign-in takes as long whether or not the name exists.
_DUMMY_HASH = _HASHER.hash("not a password of anyone")
NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-@")
MAX_NAME = 64


@dataclass(frozen=True, slots=True)
class Session:
    """A browser session: the signed-in user (None before sign-in), their role and the CSRF token."""

    token_hash: str
    user: str | None
    role: Role | None
    csrf_token: str
    expires_at: float


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_name(name: str) -> str:
    """``name`` if it is a valid user name, else :class:`BadRequest` saying why."""
    if not 1 <= len(name) <= MAX_NAME or not set(name) <= NAME_CHARS:
        raise BadRequest(f"user name {name!r}: 1-{MAX_NAME} characters of A-Z a-z 0-9 _ . - @")
    return name


class Accounts:
    """Users and sessions in the console database."""

    def __init__(self, db: ConsoleDB, config: ConsoleConfig) -> None:
        self.db = db
        self.config = config

    def add_user(self, name: str, role: str, password: str) -> None:
        """Create a user; :class:`Conflict` if the name is taken, :class:`BadRequest` for bad values."""
        check_name(name)
        if role not in ROLES:
            raise BadRequest(f"role {role!r}: roles are {list(ROLES)}")
        if len(password) < self.config.min_password_length:
            raise BadRequest(f"password: at least {self.config.min_password_length} characters")
        with self.db.transaction() as conn:
            if conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise Conflict(f"user {name!r} exists")
            conn.execute(
                "INSERT INTO users (name, role, password_hash) VALUES (?, ?, ?)",
                (name, role, _HASHER.hash(password)),
            )

    def users(self) -> list[tuple[str, str]]:
        """Every user's name and role."""
        return [(r["name"], r["role"]) for r in self.db.query("SELECT name, role FROM users ORDER BY name")]

    def authenticate(self, name: str, password: str, now: float | None = None) -> Role:
        """The user's role if the password is right; :class:`Unauthorized` otherwise (or while locked)."""
        now = time.time() if now is None else now
        rows = self.db.query("SELECT role, password_hash, locked_until FROM users WHERE name = ?", (name,))
        if not rows:
            self._verify(_DUMMY_HASH, password)
            raise Unauthorized("wrong user name or password")
        row = rows[0]
        if row["locked_until"] > now:
            wait = int(row["locked_until"] - now) + 1
            raise Unauthorized(f"too many failed sign-ins: this user is locked for {wait} more seconds")
        if not self._verify(row["password_hash"], password):
            self._failed(name, now)
            raise Unauthorized("wrong user name or password")
        with self.db.transaction() as conn:
            conn.execute("UPDATE users SET failed_logins = 0, locked_until = 0 WHERE name = ?", (name,))
        role: Role = row["role"]
        return role

    @staticmethod
    def _verify(password_hash: str, password: str) -> bool:
        try:
            return _HASHER.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def _failed(self, name: str, now: float) -> None:
        with self.db.transaction() as conn:
            conn.execute("UPDATE users SET failed_logins = failed_logins + 1 WHERE name = ?", (name,))
            conn.execute(
                "UPDATE users SET locked_until = ?, failed_logins = 0 WHERE name = ? AND failed_logins >= ?",
                (now + self.config.lockout_s, name, self.config.max_failed_logins),
            )

    def new_session(self, user: str | None, now: float | None = None) -> tuple[str, Session]:
        """A fresh session (anonymous when ``user`` is None); returns the cookie token and the session."""
        now = time.time() if now is None else now
        token = secrets.token_urlsafe(32)
        session = Session(
            _digest(token), user, None, secrets.token_urlsafe(32), now + self.config.session_ttl_s
        )
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM sessions WHERE expires_at < ?", (now,))
            conn.execute(
                "INSERT INTO sessions (token_hash, user_name, csrf_token, expires_at) VALUES (?, ?, ?, ?)",
                (session.token_hash, user, session.csrf_token, session.expires_at),
            )
        found = self.session(token, now)
        assert found is not None
        return token, found

    def session(self, token: str | None, now: float | None = None) -> Session | None:
        """The live session of a cookie token, or None (unknown, expired, or its user was removed)."""
        if not token:
            return None
        now = time.time() if now is None else now
        rows = self.db.query(
            "SELECT s.token_hash, s.user_name, s.csrf_token, s.expires_at, u.role FROM sessions s "
            "LEFT JOIN users u ON u.name = s.user_name WHERE s.token_hash = ?",
            (_digest(token),),
        )
        if not rows or rows[0]["expires_at"] < now:
            return None
        r = rows[0]
        if r["user_name"] is not None and r["role"] is None:
            return None
        return Session(r["token_hash"], r["user_name"], r["role"], r["csrf_token"], r["expires_at"])

    def end_session(self, session: Session) -> None:
        """Sign out: the session is deleted server-side (its cookie is then worth nothing)."""
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM sessions WHERE token_hash = ?", (session.token_hash,))


def csrf_matches(session: Session, sent: str | None) -> bool:
    """Whether ``sent`` is the session's CSRF token (constant-time comparison)."""
    return sent is not None and hmac.compare_digest(session.csrf_token.encode(), sent.encode())
