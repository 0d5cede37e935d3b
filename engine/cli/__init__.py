"""The ``offers`` command. Thin: each sub-module registers its commands and calls one stage.

Sub-modules import their stage lazily inside the command so that, for instance, ``offers serve`` never
imports training code or MLflow.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from engine.cli import (
    backtest_cmd,
    challenges_cmd,
    champion_cmd,
    console_cmd,
    data_cmd,
    experiment_cmd,
    lift_cmd,
    report_cmd,
    rules_cmd,
    serve_cmd,
    train_cmd,
)
from engine.errors import OfferEngineError

app = typer.Typer(
    name="offers",
    help="Personalized weekly star challenges: train, rules, challenges, serve, backtest, experiments.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

for module in (
    data_cmd,
    train_cmd,
    champion_cmd,
    rules_cmd,
    challenges_cmd,
    serve_cmd,
    backtest_cmd,
    experiment_cmd,
    lift_cmd,
    console_cmd,
    report_cmd,
):
    module.register(app)


def main() -> None:
    """Console-script entry point: project errors become a clear message and their exit code."""
    try:
        app()
    except OfferEngineError as exc:
        Console(stderr=True).print(f"[bold red]{type(exc).__name__}[/]: {exc.message}", highlight=False)
        sys.exit(exc.exit_code)
