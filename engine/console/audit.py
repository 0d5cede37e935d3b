"""The audit log: append-only, each entry's hash chained to the one before.

``hash = sha256(prev_hash + canonical JSON of the entry)``; the first entry chains to ``GENESIS``. The
table refuses UPDATE and DELETE (triggers in :mod:`engine.console.db`) and the console has no route that
changes it; :func:`verify_chain` recomputes every hash, so an entry edited, removed or inserted by
other means (a raw SQLite session that drops the triggers) is found (``offers console verify-audit``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from engine.console.db import ConsoleDB

GENESIS = "0" * 64
_FIELDS = ("seq", "at", "action", "actor", "approver", "subject", "version_before", "version_after", "diff")


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audit log row."""

    seq: int
    at: str
    action: str
    actor: str
    approver: str | None
    subject: str
    version_before: str | None
    version_after: str | None
    diff: str
    prev_hash: str
    hash: str


def entry_hash(prev_hash: str, fields: dict[str, object]) -> str:
    """The chained hash of one entry's fields."""
    body = json.dumps({k: fields[k] for k in _FIELDS}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


class AuditLog:
    """Append and read the audit log; nothing here updates or deletes."""

    def __init__(self, db: ConsoleDB) -> None:
        self.db = db

    def append(
        self,
        action: str,
        actor: str,
        subject: str,
        *,
        approver: str | None = None,
        version_before: str | None = None,
        version_after: str | None = None,
        diff: str = "",
    ) -> AuditEntry:
        """Add one entry at the end of the chain (in one transaction with reading the chain's head)."""
        with self.db.transaction() as conn:
            head = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
            seq, prev = (1, GENESIS) if head is None else (head[0] + 1, head[1])
            fields: dict[str, object] = {
                "seq": seq,
                "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "action": action,
                "actor": actor,
                "approver": approver,
                "subject": subject,
                "version_before": version_before,
                "version_after": version_after,
                "diff": diff,
            }
            digest = entry_hash(prev, fields)
            conn.execute(
                "INSERT INTO audit (seq, at, action, actor, approver, subject, version_before, "
                "version_after, diff, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*(fields[k] for k in _FIELDS), prev, digest),
            )
        return AuditEntry(**fields, prev_hash=prev, hash=digest)  # type: ignore[arg-type]

    def entries(self, limit: int | None = None) -> list[AuditEntry]:
        """Entries, newest first."""
        sql = "SELECT * FROM audit ORDER BY seq DESC" + ("" if limit is None else f" LIMIT {int(limit)}")
        return [AuditEntry(**dict(r)) for r in self.db.query(sql)]


def verify_chain(log: AuditLog) -> list[str]:
    """Every problem found in the chain (empty: intact)."""
    problems: list[str] = []
    prev, expected_seq = GENESIS, 1
    for entry in reversed(log.entries()):
        fields = {k: getattr(entry, k) for k in _FIELDS}
        if entry.seq != expected_seq:
            problems.append(f"entry {entry.seq}: expected entry {expected_seq} here (an entry is missing)")
        if entry.prev_hash != prev:
            problems.append(f"entry {entry.seq}: does not chain to the entry before it")
        if entry_hash(entry.prev_hash, fields) != entry.hash:
            problems.append(f"entry {entry.seq}: its content does not match its hash (edited)")
        prev, expected_seq = entry.hash, entry.seq + 1
    return problems
