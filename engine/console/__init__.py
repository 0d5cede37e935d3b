"""The web console for marketers, analysts and admins, served beside the API (``offers console``).

Public API::

    with_console(app, config)      mount the console at /console on the serving app
    create_console(config, state)  the console app over a serving state
    load_console_config(path)      configs/console.toml, validated (ConsoleConfig)
    ConsoleDB, Accounts            the console's SQLite file; users (argon2) and sessions
    AuditLog, verify_chain         the append-only, hash-chained audit log

Modules: ``config``, ``db``, ``accounts`` (sign-in, sessions, CSRF tokens), ``audit``, ``changes`` (drafts,
approval, publication of the rules file), ``sections`` (a form per rules section), ``preview`` (the
rules preview over the served model version), ``charts`` (inline SVG), ``web`` (request plumbing) and
the ``pages_*`` routers. Nothing here imports training code or MLflow.
"""

from engine.console.accounts import Accounts
from engine.console.app import create_console, with_console
from engine.console.audit import AuditLog, verify_chain
from engine.console.config import ConsoleConfig, load_console_config
from engine.console.db import ConsoleDB

__all__ = [
    "Accounts",
    "AuditLog",
    "ConsoleConfig",
    "ConsoleDB",
    "create_console",
    "load_console_config",
    "verify_chain",
    "with_console",
]
