"""The embedded store's SQL: the schema, the point reads, and one issue inside a transaction.

Kept apart from :mod:`engine.serve.embedded` (which owns the connection, the lock, the batching and the
caches) so that each file holds one concept.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import NamedTuple

from engine.serve.store import BudgetClaim, IssueResult

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS versions (gen INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS members (
    gen INTEGER NOT NULL, member_id TEXT NOT NULL, record BLOB NOT NULL, PRIMARY KEY (gen, member_id));
CREATE TABLE IF NOT EXISTS shared (
    gen INTEGER NOT NULL, name TEXT NOT NULL, blob BLOB NOT NULL, PRIMARY KEY (gen, name));
CREATE TABLE IF NOT EXISTS issued (
    week INTEGER NOT NULL, member_id TEXT NOT NULL, payload BLOB NOT NULL, expires_at REAL NOT NULL,
    PRIMARY KEY (week, member_id));
CREATE INDEX IF NOT EXISTS issued_expiry ON issued (expires_at);
CREATE TABLE IF NOT EXISTS history (member_id TEXT PRIMARY KEY, blob BLOB NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS budget (week INTEGER PRIMARY KEY, spent REAL NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
ISSUED = "SELECT payload, expires_at FROM issued WHERE week = ? AND member_id = ? AND expires_at > ?"
HISTORY = "SELECT blob FROM history WHERE member_id = ? AND expires_at > ?"
MEMBER = "SELECT record FROM members WHERE gen = ? AND member_id = ?"
COUNT = "INSERT INTO counters VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = value + excluded.value"


class Issue(NamedTuple):
    """One :meth:`~engine.serve.embedded.EmbeddedStore.issue_once` call, queued for group commit."""

    week: int
    member_id: str
    payload: bytes
    ttl_s: int
    counters: Sequence[str]
    history: bytes | None
    history_ttl_s: int
    budget: BudgetClaim | None


def issue(db: sqlite3.Connection, op: Issue, now: float) -> tuple[IssueResult, float]:
    """Run ``op`` inside the caller's transaction: the result and the stored row's expiry.

    First writer wins (an unexpired row is returned as it is); a budget claim that does not fit writes
    nothing; otherwise the payload, its counters, history and budget are written together.
    """
    row = db.execute(ISSUED, (op.week, op.member_id, now)).fetchone()
    if row is not None:
        return IssueResult(bytes(row[0]), won=False), row[1]
    budget = op.budget
    if budget is not None:
        spent = db.execute(
            "SELECT spent FROM budget WHERE week = ? AND expires_at > ?", (budget.week, now)
        ).fetchone()
        total = (0.0 if spent is None else float(spent[0])) + budget.cost
        if total > budget.limit:
            return IssueResult(b"", won=False, over_budget=True), now
        db.execute("INSERT OR REPLACE INTO budget VALUES (?, ?, ?)", (budget.week, total, now + op.ttl_s))
    expires_at = now + op.ttl_s
    db.execute(
        "INSERT OR REPLACE INTO issued VALUES (?, ?, ?, ?)",
        (op.week, op.member_id, op.payload, expires_at),
    )
    db.executemany(COUNT, [(name, 1) for name in op.counters])
    if op.history is not None:
        expires = now + max(op.history_ttl_s, 1)
        db.execute("INSERT OR REPLACE INTO history VALUES (?, ?, ?)", (op.member_id, op.history, expires))
    return IssueResult(op.payload, won=True), expires_at
