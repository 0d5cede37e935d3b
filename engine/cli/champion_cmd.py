"""``offers champion check`` and ``offers champion promote VERSION``: the model production serves.

The ``CHAMPION`` file is the source of truth and the MLflow alias follows it (see ``engine/champion.py``).
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from engine.config import CONFIG_DIR

_CONFIG = typer.Option(
    CONFIG_DIR / "train.toml", "--config", help="Training config (artifact_root, [tracking])."
)


def register(app: typer.Typer) -> None:
    """Add the ``champion`` command group to ``app``."""
    champion = typer.Typer(help="Which model production serves: check or promote.", no_args_is_help=True)

    @champion.command("check")
    def check(config: Path = _CONFIG) -> None:
        """Print the champion; exit non-zero when the MLflow alias names another model than the file."""
        from engine.train.config import load_train_config
        from engine.train.promote import check_agreement

        cfg = load_train_config(config)
        version = check_agreement(Path(cfg.artifact_root), cfg.tracking)
        where = (
            f"MLflow alias @{cfg.tracking.alias} agrees" if cfg.tracking.enabled else "MLflow tracking off"
        )
        Console().print(
            f"champion: {version or 'none yet'} ({Path(cfg.artifact_root) / 'CHAMPION'}; {where})",
            highlight=False,
        )

    @champion.command("promote")
    def promote_cmd(
        version: str = typer.Argument(..., help="The model version (a folder under artifact_root)."),
        config: Path = _CONFIG,
    ) -> None:
        """Make VERSION the champion: the CHAMPION file, then the MLflow alias (also repairs a mismatch)."""
        from engine.train.config import load_train_config
        from engine.train.promote import promote

        cfg = load_train_config(config)
        registry = promote(Path(cfg.artifact_root), version, cfg.tracking, check=False)
        alias = "" if registry is None else f"; alias @{cfg.tracking.alias} -> registry version {registry}"
        Console().print(
            f"champion: {version}{alias}. A running service serves it after `offers publish` "
            "(or its admin publish call)",
            highlight=False,
        )

    app.add_typer(champion, name="champion")
