"""The console app: ``create_console(config, serve_state)``, mounted beside the API by ``with_console``.

The console runs in the serving process (``offers console``), so it reads the same store, live rules,
issuer and calendar as the API, and a published rules change is reloaded in this process at once.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from engine.console import pages_analysis, pages_auth, pages_changes, pages_ops, pages_rules
from engine.console.accounts import Accounts
from engine.console.audit import AuditLog
from engine.console.changes import RulesDesk
from engine.console.config import ConsoleConfig
from engine.console.db import ConsoleDB
from engine.console.preview import PreviewRunner
from engine.console.state import ConsoleState
from engine.console.web import error_page, security_headers
from engine.errors import OfferEngineError
from engine.serve.state import ServeState

#: Where the console is mounted in the serving app.
MOUNT_PATH = "/console"
STATIC_DIR = Path(__file__).parent / "static"


def create_console(config: ConsoleConfig, serve: ServeState) -> FastAPI:
    """The console as an ASGI app over the serving state ``serve``."""
    db = ConsoleDB(config.database)
    audit = AuditLog(db)
    state = ConsoleState(
        config=config,
        db=db,
        accounts=Accounts(db, config),
        audit=audit,
        desk=RulesDesk(db, config, serve.rules, audit),
        previews=PreviewRunner(serve.settings.artifact_root),
        serve=serve,
    )
    app = FastAPI(title="Offer engine console", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.console = state
    for module in (pages_auth, pages_rules, pages_changes, pages_ops, pages_analysis):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_exception_handler(OfferEngineError, error_page)
    app.middleware("http")(security_headers())
    return app


def with_console(app: FastAPI, config: ConsoleConfig) -> FastAPI:
    """Mount the console on the serving app ``app`` (from :func:`engine.serve.app.create_app`)."""
    app.mount(MOUNT_PATH, create_console(config, app.state.serve))
    return app
