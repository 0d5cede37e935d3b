"""``offers backtest``: the model against simple baselines on held-out weeks, with a Markdown report."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import typer

from engine.config import CONFIG_DIR
from engine.errors import ConfigError


def _ints(text: str | None, option: str) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise ConfigError(f"{option}: expected comma-separated week numbers, got {text!r}") from exc


def register(app: typer.Typer) -> None:
    """Add ``offers backtest`` to ``app``."""

    @app.command("backtest")
    def backtest_command(
        cutoffs: str | None = typer.Option(
            None, help="Comma-separated cutoff weeks, e.g. 30,34,38,42,46,50."
        ),
        window: str | None = typer.Option(None, help="Window length(s) in weeks, e.g. 1 or 1,2."),
        models: str | None = typer.Option(
            None, help="Policies to run: model,topfreq,decayed,popular,cooc,random (model is always built)."
        ),
        out: Path | None = typer.Option(None, help="Report folder (default: out_dir in the config)."),
        config: Path = typer.Option(CONFIG_DIR / "backtest.toml", help="Backtest config file."),
        no_tracking: bool = typer.Option(False, "--no-tracking", help="Do not log to MLflow."),
    ) -> None:
        """Backtest the challenges against honest baselines and write experiments/backtest/report.md."""
        from rich.console import Console

        from engine.backtest.config import BacktestConfig, load_backtest_config
        from engine.backtest.pipeline import backtest
        from engine.config import parse_config

        base = load_backtest_config(config)
        update: dict[str, object] = {}
        if (weeks := _ints(cutoffs, "--cutoffs")) is not None:
            update["cutoffs"] = weeks
        if (windows := _ints(window, "--window")) is not None:
            update["windows"] = windows
            if base.primary_window not in windows:
                update["primary_window"] = windows[0]
        if models is not None:
            update["policies"] = [m.strip() for m in models.split(",") if m.strip()]
        if out is not None:
            update["out_dir"] = out
        if no_tracking:
            update["tracking"] = {**base.tracking.model_dump(), "enabled": False}
        # re-validate so that a bad option is refused with the same message as a bad config key
        merged = parse_config({**base.model_dump(), **update}, BacktestConfig, "backtest options")
        outcome = backtest(merged, command=shlex.join(["offers", *sys.argv[1:]]))
        console = Console()
        for bar in outcome.bars:
            verdict = "NOT RUN" if bar.passed is None else ("PASS" if bar.passed else "FAIL")
            console.print(f"{verdict:7} {bar.name}: {bar.measured}", highlight=False)
        console.print(f"report: {outcome.report}")
        if outcome.result.run_id:
            console.print(f"MLflow parent run: {outcome.result.run_id}")
