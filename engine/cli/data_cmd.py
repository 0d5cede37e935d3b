"""``offers data check`` (load, validate, report) and ``offers data synth`` (write synthetic files)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import typer
from rich.console import Console
from rich.table import Table

from engine.config import CONFIG_DIR

#: Unmatched margins keys named by ``offers data check`` without ``--verbose``.
UNMATCHED_EXAMPLES = 5


def register(app: typer.Typer) -> None:
    """Add the ``data`` command group to ``app``."""
    data = typer.Typer(help="Load and validate data; generate synthetic data.", no_args_is_help=True)

    @data.command("check")
    def check(
        config: Path = typer.Option(CONFIG_DIR / "data.toml", "--config", help="Data config (TOML)."),
        verbose: bool = typer.Option(
            False, "--verbose", "-v", help="List every margins config key that matches no catalog row."
        ),
    ) -> None:
        """Load and validate the configured data, then print its size and every row removed or filled."""
        from engine.data.config import load_data_config
        from engine.data.loaders import load_dataset
        from engine.data.margins import load_margins_config, unmatched_keys
        from engine.data.schema import CATEGORY, EXCLUDED, MEMBER_ID, ON_PROMOTION, RETAIL_DISC, TIER, WEEK

        cfg = load_data_config(config)
        ds = load_dataset(cfg)
        console = Console()
        summary = Table(title=f"Data: {ds.source}", show_header=False)
        tx = ds.transactions
        weeks = f"{int(tx[WEEK].min())}..{int(tx[WEEK].max())}"
        for label, value in (
            ("transaction lines", f"{len(tx):,}"),
            ("members (with purchases)", f"{tx[MEMBER_ID].nunique():,} of {len(ds.members):,}"),
            (
                "catalog items",
                f"{len(ds.catalog):,} ({int(ds.catalog[EXCLUDED].sum()):,} excluded from offers)",
            ),
            ("categories", f"{ds.catalog[CATEGORY].nunique():,}"),
            ("weeks", weeks),
            ("tiers", ", ".join(f"{t} {n:,}" for t, n in ds.members[TIER].value_counts().items())),
            ("lines with a loyalty discount", f"{(tx[RETAIL_DISC] > 0).mean():.1%}"),
            ("lines on promotion (display or mailer)", f"{tx[ON_PROMOTION].mean():.1%}"),
            (
                "promotion calendar",
                "none"
                if ds.promotions is None
                else f"{len(ds.promotions):,} item-weeks, weeks "
                f"{int(ds.promotions[WEEK].min())}..{int(ds.promotions[WEEK].max())}",
            ),
        ):
            summary.add_row(label, value)
        console.print(summary)
        drops = Table(title="Rows removed, filled or rewritten on load")
        for column in ("table", "reason", "rows", "examples"):
            drops.add_column(column, justify="right" if column == "rows" else "left")
        for d in ds.dropped:
            drops.add_row(d.table, d.reason, f"{d.rows:,}", ", ".join(d.examples))
        console.print(drops if ds.dropped else "No rows removed.")
        unmatched = unmatched_keys(ds.catalog, load_margins_config(cfg.margins))
        if unmatched:
            console.print(unmatched_text(unmatched, cfg.margins, verbose), highlight=False, soft_wrap=True)

    @data.command("synth")
    def synth(
        members: int = typer.Option(10_000, "--members", min=1, help="Number of members."),
        out: Path = typer.Option(..., "--out", help="Folder to write transactions/catalog/members files to."),
        items: int = typer.Option(5_000, "--items", min=1, help="Number of catalog items."),
        weeks: int = typer.Option(52, "--weeks", min=1, help="Number of weeks."),
        seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same files)."),
        fmt: str = typer.Option("parquet", "--format", help="parquet or csv."),
    ) -> None:
        """Write synthetic data in the documented input schema, in member chunks."""
        from engine.data.synthetic import write_synthetic
        from engine.errors import ConfigError

        if fmt not in ("parquet", "csv"):
            raise ConfigError(f"--format: expected parquet or csv, got {fmt!r}")
        file_format: Literal["parquet", "csv"] = "parquet" if fmt == "parquet" else "csv"
        source = write_synthetic(out, members, items, weeks, seed, format=file_format)
        Console().print(f"wrote {source.transactions}, {source.catalog}, {source.members}")

    app.add_typer(data, name="data")


def unmatched_text(unmatched: list[str], margins: Path, verbose: bool) -> str:
    """The margins keys no catalog row matches: a count and a few examples, all of them with --verbose.

    The shipped margins file names Complete Journey's departments and categories, so on one's own data
    most of its keys match nothing; a typo in one's own margins file shows up the same way.
    """
    head = f"{len(unmatched)} margins config key(s) in {margins} match no catalog row"
    if verbose or len(unmatched) <= UNMATCHED_EXAMPLES:
        return f"{head}: {', '.join(unmatched)}"
    return (
        f"{head} (expected with the shipped margins on other data; set `margins` in the data config to "
        f"your own file), e.g. {', '.join(unmatched[:UNMATCHED_EXAMPLES])}; --verbose lists all"
    )
