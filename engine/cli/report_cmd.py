"""``offers report NAME``: a marketer report as Markdown, PNG charts and Parquet/CSV tables (``--json``)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import typer
from rich.console import Console

from engine.config import CONFIG_DIR


def register(app: typer.Typer) -> None:
    """Add ``offers report`` to ``app``."""

    @app.command("report")
    def report(
        name: str = typer.Argument(
            ...,
            help="sellers | basket | concentration | weekly-sales | offer-economics | fairness",
        ),
        as_of: int | None = typer.Option(
            None, "--as-of", help="Report on the weeks before WEEK (default: every week of the data)."
        ),
        challenges: Path | None = typer.Option(
            None,
            "--challenges",
            help="A saved `offers challenges` Parquet file (offer-economics and fairness read it).",
        ),
        out: Path | None = typer.Option(
            None, "--out", help="Folder to write into (default: <out_dir of the config>/NAME)."
        ),
        config_file: Path = typer.Option(CONFIG_DIR / "reports.toml", "--config", help="Reports TOML."),
        data_file: Path = typer.Option(CONFIG_DIR / "data.toml", "--data", help="Data source TOML."),
        as_json: bool = typer.Option(False, "--json", help="Also print the numbers and tables as JSON."),
    ) -> None:
        """Write report NAME (report.md, PNG charts, Parquet and CSV tables) and print where it is.

        Each report runs in seconds on the full data. The offer reports (offer-economics, fairness)
        read a saved challenges file rather than training a model: write it first with
        `offers challenges --as-of WEEK --out FILE.parquet`.
        """
        from engine.errors import NotFound
        from engine.reports import get_report, load_report_data, load_reports_config, run_report
        from engine.reports.writer import report_json, write_report

        console = Console(stderr=True, soft_wrap=True)
        try:
            spec = get_report(name)
        except NotFound as exc:
            console.print(f"[bold red]NotFound[/]: {exc.message}", highlight=False)
            raise typer.Exit(exc.exit_code) from exc
        config = load_reports_config(config_file)
        if spec.needs_challenges and challenges is None:
            console.print(
                f"[bold red]missing --challenges[/]: report {name!r} reads a saved challenges file; write "
                "one with `offers challenges --as-of WEEK --out FILE.parquet`",
                highlight=False,
            )
            raise typer.Exit(2)
        data = load_report_data(data_file, challenges if spec.needs_challenges else None)
        result = run_report(name, data, config, as_of)
        folder = out if out is not None else config.out_dir / name
        command = (
            "offers " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:] else "offers report"
        )
        written = write_report(result, folder, rows=config.markdown_rows, dpi=config.dpi, command=command)
        console.print(f"{name}: {len(written)} files in {folder}", highlight=False)
        if as_json:
            typer.echo(report_json(result))
