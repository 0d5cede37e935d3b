"""Rules changes: each user's draft, submission for approval, a second user's decision, publication.

Approval policy (``approver_roles`` in ``configs/console.toml``, default marketer and admin): any
signed-in user of those roles who is **not the author** approves or rejects; nobody approves their own
change, whatever their role (four eyes on every change). Analysts read only. Approval publishes: the
live rules file is replaced atomically (written beside it, flushed, renamed over it), the service's
rules watcher reloads it at once, and the audit log records who wrote it, who approved, the diff and the
rules versions before and after. A change whose base is no longer the live rules is refused (409), so
nobody overwrites a change they did not see.
"""

from __future__ import annotations

import difflib
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from engine.console.accounts import Session
from engine.console.audit import AuditLog
from engine.console.config import ConsoleConfig
from engine.console.db import ConsoleDB
from engine.errors import Conflict, Forbidden, NotFound
from engine.rules.config import RulesConfig, parse_rules_text, rules_version
from engine.serve.rules_watch import RulesWatcher

#: Roles that may edit and submit rules.
EDITOR_ROLES = ("marketer", "admin")


@dataclass(frozen=True, slots=True)
class Change:
    """A submitted rules change."""

    id: int
    author: str
    submitted_at: float
    text: str
    base_version: str
    new_version: str
    diff: str
    note: str
    status: str
    decided_by: str | None
    decided_at: float | None


def unified_diff(live: str, draft: str, live_version: str) -> str:
    """The draft against the live rules, as a unified diff (empty when equal)."""
    return "".join(
        difflib.unified_diff(
            live.splitlines(keepends=True),
            draft.splitlines(keepends=True),
            fromfile=f"live rules {live_version}",
            tofile="draft",
        )
    )


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``: readers see the old file or the new one, never half of one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class RulesDesk:
    """Drafts, change requests and publication of the rules the service watches."""

    def __init__(self, db: ConsoleDB, config: ConsoleConfig, watcher: RulesWatcher, audit: AuditLog) -> None:
        self.db = db
        self.config = config
        self.watcher = watcher
        self.audit = audit

    @property
    def path(self) -> Path:
        """The live rules file."""
        return Path(self.watcher.path)

    def live_text(self) -> str:
        """The live rules file as it is on disk."""
        return self.path.read_text(encoding="utf-8")

    def validate(self, text: str) -> RulesConfig:
        """The rules ``text`` means, checked as `offers rules validate` checks the live file's path."""
        return parse_rules_text(text, str(self.path), base_dir=self.path.parent)

    def draft(self, user: str) -> str:
        """The user's draft, or the live rules when they have none."""
        rows = self.db.query("SELECT text FROM drafts WHERE user_name = ?", (user,))
        return rows[0]["text"] if rows else self.live_text()

    def save_draft(self, user: str, text: str) -> None:
        """Keep ``text`` as the user's draft (valid or not: a draft is work in progress)."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO drafts (user_name, text, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT(user_name) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at",
                (user, text, time.time()),
            )

    def discard_draft(self, user: str) -> None:
        """Start again from the live rules."""
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM drafts WHERE user_name = ?", (user,))

    def submit(self, session: Session, note: str = "") -> Change:
        """Submit the user's draft for approval (it must be valid and differ from the live rules)."""
        user = _editor(session)
        text = self.draft(user)
        new_version = rules_version(self.validate(text))
        live = self.watcher.live.version
        if new_version == live:
            raise Conflict("the draft means the same rules as the live ones: nothing to submit")
        diff = unified_diff(self.live_text(), text, live)
        with self.db.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO changes (author, submitted_at, text, base_version, new_version, diff, note) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (user, time.time(), text, live, new_version, diff, note),
            )
            change_id = cur.lastrowid
            conn.execute("DELETE FROM drafts WHERE user_name = ?", (user,))
        assert change_id is not None
        self.audit.append(
            "rules_submitted",
            user,
            f"change {change_id}",
            version_before=live,
            version_after=new_version,
            diff=diff,
        )
        return self.change(change_id)

    def changes(self) -> list[Change]:
        """Every change request, newest first."""
        return [Change(**dict(r)) for r in self.db.query("SELECT * FROM changes ORDER BY id DESC")]

    def change(self, change_id: int) -> Change:
        """One change request, or :class:`NotFound`."""
        rows = self.db.query("SELECT * FROM changes WHERE id = ?", (change_id,))
        if not rows:
            raise NotFound(f"no rules change {change_id}")
        return Change(**dict(rows[0]))

    def _decidable(self, session: Session, change_id: int) -> tuple[str, Change]:
        if session.user is None or session.role not in self.config.approver_roles:
            raise Forbidden(f"only {', '.join(self.config.approver_roles)} users approve or reject changes")
        change = self.change(change_id)
        if change.status != "pending":
            raise Conflict(f"change {change_id} is already {change.status}")
        if change.author == session.user:
            raise Forbidden("nobody approves or rejects their own change: a second user must decide")
        return session.user, change

    def _decide(self, change_id: int, status: str, by: str) -> None:
        with self.db.transaction() as conn:
            done = conn.execute(
                "UPDATE changes SET status = ?, decided_by = ?, decided_at = ? "
                "WHERE id = ? AND status = 'pending'",
                (status, by, time.time(), change_id),
            ).rowcount
        if done != 1:
            raise Conflict(f"change {change_id} was decided meanwhile")

    def approve(self, session: Session, change_id: int) -> str:
        """Approve and publish; returns the new live rules version."""
        approver, change = self._decidable(session, change_id)
        on_disk = rules_version(self.validate(self.live_text()))
        if on_disk != change.base_version:
            raise Conflict(
                f"the live rules are now version {on_disk}, not {change.base_version} that change "
                f"{change_id} was written against: reject it and submit the change again"
            )
        self.validate(change.text)
        self._decide(change_id, "approved", approver)
        write_atomically(self.path, change.text)
        live, _ = self.watcher.reload()
        self.audit.append(
            "rules_published",
            change.author,
            f"change {change_id}",
            approver=approver,
            version_before=change.base_version,
            version_after=live.version,
            diff=change.diff,
        )
        return live.version

    def reject(self, session: Session, change_id: int) -> None:
        """Reject: nothing is published."""
        approver, change = self._decidable(session, change_id)
        self._decide(change_id, "rejected", approver)
        self.audit.append(
            "rules_rejected",
            change.author,
            f"change {change_id}",
            approver=approver,
            version_before=change.base_version,
            version_after=change.new_version,
            diff=change.diff,
        )


def _editor(session: Session) -> str:
    if session.user is None or session.role not in EDITOR_ROLES:
        raise Forbidden(f"only {' and '.join(EDITOR_ROLES)} users edit and submit rules")
    return session.user
