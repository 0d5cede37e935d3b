"""``offers challenges --as-of WEEK --out FILE.parquet``: every member's challenge for one week."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from engine.config import CONFIG_DIR

if TYPE_CHECKING:
    import pandas as pd

    from engine.artifact import CandidateArtifact
    from engine.batch import BatchConfig, BlockMapper
    from engine.train.config import TrainConfig

DEFAULT_RULES = CONFIG_DIR / "rules.toml"
DEFAULT_BATCH = CONFIG_DIR / "batch.toml"


def register(app: typer.Typer) -> None:
    """Add ``offers challenges`` to ``app``."""

    @app.command("challenges")
    def challenges(
        as_of: int = typer.Option(
            ..., "--as-of", help="Challenge week (the data's week number); training uses weeks before it."
        ),
        out: Path = typer.Option(..., "--out", help="Parquet file to write, one row per member."),
        rules_file: Path = typer.Option(DEFAULT_RULES, "--rules", help="Rules TOML file."),
        artifact: Path | None = typer.Option(
            None,
            "--artifact",
            help="Use this candidate artifact instead of training (its challenge week must be WEEK).",
        ),
        retrain: bool = typer.Option(
            False,
            "--train",
            help="Train a fresh model even when one trained on the same data for WEEK exists.",
        ),
        config: Path = typer.Option(CONFIG_DIR / "train.toml", "--config", help="Training config (TOML)."),
        data_config: Path = typer.Option(
            CONFIG_DIR / "data.toml", "--data-config", help="Data config (TOML)."
        ),
        batch_file: Path = typer.Option(
            DEFAULT_BATCH, "--batch-config", help="Batch engine TOML file (single process or Ray)."
        ),
        engine: str | None = typer.Option(
            None, "--engine", help="single | ray: overrides [engine] type of the batch config."
        ),
        address: str | None = typer.Option(
            None, "--address", help="Ray address (local, auto, ray://head:10001); implies --engine ray."
        ),
    ) -> None:
        """Assemble every member's challenge for WEEK and write the Parquet file.

        The candidates come from --artifact, else from a model under artifact_root trained for WEEK on
        the same data (reused, saying which), else from training one now on data before WEEK (minutes on
        Complete Journey; it says so first, and keeps the model for the next run, not promoted).

        Columns: member_id, week, habitual_1, habitual_2, stretch_category, stretch_product,
        reward_cost, expected_profit, status (issued | no_offer), reason, then extra columns.
        The summary also gives the issued share per tier and of members active in the weeks before
        WEEK (the member-facing numbers of ``offers backtest``, windows from configs/backtest.toml).
        Member blocks run in this process or on Ray (configs/batch.toml, --engine, --address); the
        output is the same either way.
        """
        from engine.artifact import read_artifact
        from engine.batch import open_mapper, resolve_engine
        from engine.challenge import assemble_batch, challenges_frame
        from engine.errors import ArtifactError
        from engine.rules.config import load_rules

        console = Console(stderr=True, soft_wrap=True)
        rules = load_rules(rules_file)  # fail on bad rules before spending minutes on training
        batch = resolve_engine(batch_file, engine, address)
        mapper = open_mapper(batch)
        try:
            if artifact is not None:
                candidates = read_artifact(artifact)
                if candidates.manifest.challenge_week != as_of:
                    raise ArtifactError(
                        f"{artifact}: artifact is for week {candidates.manifest.challenge_week}, "
                        f"not --as-of {as_of}"
                    )
            else:
                candidates = _trained_candidates(
                    as_of, load_train_config_file(config), data_config, retrain, console, mapper
                )
            week = assemble_batch(candidates, rules, as_of, mapper=mapper, block_members=batch.block_members)
            workers = len({s.worker for s in mapper.last_stats})
            console.print(
                f"batch engine {_engine_text(batch)}: {len(mapper.last_stats)} member block(s) of "
                f"challenges on {workers} worker process(es)",
                highlight=False,
            )
        finally:
            mapper.close()
        frame = challenges_frame(week)
        out.parent.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(out, index=False)
        issued = frame[frame["status"] == "issued"]
        console.print(
            f"{out}: {len(frame)} members, {len(issued)} issued, {len(frame) - len(issued)} no_offer; "
            f"expected reward cost {frame['expected_cost'].sum():,.2f}, "
            f"expected incremental profit {frame['expected_profit'].sum():,.2f} "
            f"(model {candidates.manifest.model_version}, rules {week[0].rules_version if week else '-'})",
            highlight=False,
        )
        console.print(_issuance_line(frame, candidates, as_of), highlight=False)


def load_train_config_file(path: Path) -> TrainConfig:
    """The training config (lazy import: the command module stays light)."""
    from engine.train.config import load_train_config

    return load_train_config(path)


def _trained_candidates(
    as_of: int,
    config: TrainConfig,
    data_config: Path,
    retrain: bool,
    console: Console,
    mapper: BlockMapper,
) -> CandidateArtifact:
    """A reused model for ``as_of`` on this data, else a newly trained one (kept, never promoted)."""
    from dataclasses import replace

    from engine.artifact import read_artifact, write_artifact
    from engine.data.config import load_data_config
    from engine.data.loaders import load_dataset
    from engine.train.candidates import build_candidates
    from engine.train.fingerprint import training_fingerprint
    from engine.train.pipeline import new_model_version
    from engine.train.reuse import find_trained

    dataset = load_dataset(load_data_config(data_config), as_of_week=as_of)
    fingerprint = training_fingerprint(dataset.before_week(as_of))
    root = Path(config.artifact_root)
    found = None if retrain else find_trained(root, as_of, fingerprint)
    if found is not None:
        console.print(
            f"reusing model {found.name} ({found}): trained for week {as_of} on the same data "
            "(--train trains a fresh one)",
            highlight=False,
        )
        return read_artifact(found)
    why = "--train" if retrain else f"no model in {root}/ was trained for week {as_of} on this data"
    console.print(
        f"{why}: training one now on data weeks before {as_of} (minutes on Complete Journey; "
        "`--artifact DIR` uses an existing model instead) ...",
        highlight=False,
    )
    built = build_candidates(dataset, as_of, config, mapper=mapper)
    version = new_model_version(as_of, fingerprint)
    built = replace(built, manifest=replace(built.manifest, model_version=version))
    kept = write_artifact(built, root / version)
    console.print(f"kept as {kept} for the next run (not the champion)", highlight=False)
    return built


def _engine_text(batch: BatchConfig) -> str:
    engine = batch.engine
    return f"ray at {engine.address}, {engine.workers} workers" if engine.type == "ray" else "single process"


def _issuance_line(frame: pd.DataFrame, candidates: CandidateArtifact, as_of: int) -> str:
    """Issued share per tier and of recently active members (from the artifact's ``last_week``)."""
    import pandas as pd

    from engine.backtest.config import load_backtest_config
    from engine.backtest.member_facing import issuance, issuance_text
    from engine.data.schema import MEMBER_ID, TIERS

    params = load_backtest_config().member_facing
    members = candidates.members
    recent = members["last_week"] >= as_of - params.active_weeks
    active = pd.Index(pd.unique(members.loc[recent, MEMBER_ID]))
    return issuance_text(issuance(frame, active, TIERS), TIERS, params.rich_tiers, params.active_weeks)
