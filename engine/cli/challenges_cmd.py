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
    from engine.batch import BatchConfig

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
        """Train on data before WEEK, assemble every member's challenge and write the Parquet file.

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
                from engine.data.loaders import load_dataset
                from engine.train.candidates import build_candidates
                from engine.train.config import load_train_config

                console.print(f"training candidates on weeks before {as_of} ...", highlight=False)
                data = load_dataset(as_of_week=as_of)
                candidates = build_candidates(data, as_of, load_train_config(), mapper=mapper)
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
