"""``offers train``: train on the configured data and register the model (imports training lazily)."""

from __future__ import annotations

from pathlib import Path

import typer

from engine.config import CONFIG_DIR


def register(app: typer.Typer) -> None:
    """Add ``offers train`` to ``app``."""

    @app.command("train")
    def train_command(
        as_of: str | None = typer.Option(
            None,
            "--as-of",
            help="Train only on data before this week (number) or the week containing this ISO date; "
            "default: after the last week (train on everything).",
        ),
        config: Path = typer.Option(CONFIG_DIR / "train.toml", "--config", help="Training config (TOML)."),
        data_config: Path = typer.Option(
            CONFIG_DIR / "data.toml", "--data-config", help="Data config (TOML)."
        ),
        promote: bool = typer.Option(
            False,
            "--promote",
            help="Make the new model the champion even when trained on other data or an earlier cutoff.",
        ),
    ) -> None:
        """Train the challenge recommender, write its candidate artifact and log the run to MLflow."""
        from rich.console import Console

        from engine.data.config import load_data_config
        from engine.data.loaders import load_dataset
        from engine.train.config import load_train_config
        from engine.train.pipeline import resolve_as_of, train

        console = Console()
        train_config = load_train_config(config)
        data_cfg = load_data_config(data_config)
        with console.status("loading data"):
            dataset = load_dataset(data_cfg)
        week = resolve_as_of(as_of, dataset, data_cfg.week_start)
        console.print(
            f"training on {dataset.source}: weeks before {week} ({len(dataset.transactions):,} lines)"
        )
        result = train(dataset, week, train_config, promote_model=promote)
        console.print(f"timings (s): {result.timings}")
        console.print(f"artifact:       {result.artifact_dir}")
        console.print(f"model version:  {result.model_version}")
        if result.promoted:
            console.print(f"champion:       {result.model_version} ({result.promotion_reason})")
        else:
            console.print(
                f"champion:       unchanged: {result.promotion_reason}; `offers champion promote "
                f"{result.model_version}` (or --promote) makes this model the one served"
            )
        if result.run_id is None:
            console.print("MLflow tracking disabled ([tracking] enabled = false)")
            return
        tracking = train_config.tracking
        console.print(f"MLflow run id:  {result.run_id}  ({tracking.tracking_uri})")
        alias = f"alias @{result.alias}" if result.alias else "alias not moved"
        console.print(
            f"registered:     {result.registered_model} version {result.registered_version} {alias}"
        )
