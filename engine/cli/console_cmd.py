"""``offers console``: the web console beside the API; ``add-user`` and ``verify-audit``.

Lazy imports: the console never imports training code or MLflow.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console

_CONFIG = typer.Option(None, "--console-config", help="console config [default: configs/console.toml]")


def register(app: typer.Typer) -> None:
    """Add the ``console`` command group to ``app``."""
    console_app = typer.Typer(
        help="The web console (rules with approval, members, budget, experiments, models).",
        invoke_without_command=True,
    )
    app.add_typer(console_app, name="console")

    @console_app.callback()
    def serve_console(
        ctx: typer.Context,
        host: str | None = typer.Option(None, help="interface to bind (default: configs/serve.toml)"),
        port: int | None = typer.Option(None, help="TCP port (default: configs/serve.toml)"),
        config: Path | None = typer.Option(None, help="serving config file [default: configs/serve.toml]"),
        console_config: Path | None = _CONFIG,
    ) -> None:
        """Serve the API with the console at /console (one process; the console reads its store)."""
        if ctx.invoked_subcommand is not None:
            return
        import uvicorn

        from engine.console import load_console_config, with_console
        from engine.serve.app import create_app
        from engine.serve.logs import configure_logging
        from engine.serve.settings import load_settings

        overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
        settings = load_settings(config, **overrides)
        configure_logging(settings.log_level)
        app = with_console(create_app(settings), load_console_config(console_config))
        Console(stderr=True).print(f"console at http://{settings.host}:{settings.port}/console/")
        uvicorn.run(
            app, host=settings.host, port=settings.port, log_config=None, log_level=settings.log_level
        )

    @console_app.command("add-user")
    def add_user(
        name: str = typer.Argument(..., help="the user's sign-in name"),
        role: str = typer.Option(..., "--role", help="marketer, analyst or admin"),
        password_stdin: bool = typer.Option(
            False, "--password-stdin", help="read the password from standard input (first line)"
        ),
        console_config: Path | None = _CONFIG,
    ) -> None:
        """Create a console user; the password is asked for (hidden) or read from stdin, never an argument."""
        from engine.console import Accounts, ConsoleDB, load_console_config

        password = (
            sys.stdin.readline().rstrip("\r\n")
            if password_stdin
            else typer.prompt("password", hide_input=True, confirmation_prompt=True)
        )
        cfg = load_console_config(console_config)
        db = ConsoleDB(cfg.database)
        try:
            Accounts(db, cfg).add_user(name, role, password)
        finally:
            db.close()
        Console().print(f"user {name} ({role}) added to {cfg.database}")

    @console_app.command("verify-audit")
    def verify_audit(console_config: Path | None = _CONFIG) -> None:
        """Recompute the audit log's hash chain; exit 1 and list the problems if it was tampered with."""
        from engine.console import AuditLog, ConsoleDB, load_console_config, verify_chain

        cfg = load_console_config(console_config)
        db = ConsoleDB(cfg.database)
        try:
            log = AuditLog(db)
            problems = verify_chain(log)
            count = len(log.entries())
        finally:
            db.close()
        if problems:
            for p in problems:
                Console(stderr=True).print(f"[bold red]tampered[/]: {p}", highlight=False)
            raise typer.Exit(1)
        Console().print(f"audit log intact: {count} entries, hash chain verified")
