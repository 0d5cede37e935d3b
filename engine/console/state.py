"""Everything a console request works with, built once by :func:`engine.console.app.create_console`."""

from __future__ import annotations

from dataclasses import dataclass

from engine.console.accounts import Accounts
from engine.console.audit import AuditLog
from engine.console.changes import RulesDesk
from engine.console.config import ConsoleConfig
from engine.console.db import ConsoleDB
from engine.console.preview import PreviewRunner
from engine.serve.state import ServeState


@dataclass
class ConsoleState:
    """The console's own parts, and the serving state it reads (store, live rules, issuer, calendar)."""

    config: ConsoleConfig
    db: ConsoleDB
    accounts: Accounts
    audit: AuditLog
    desk: RulesDesk
    previews: PreviewRunner
    serve: ServeState
