"""Writing a :class:`~engine.reports.model.Report`: ``report.md``, one PNG per chart, one Parquet and one
CSV per summary table, and the JSON that ``--json`` prints."""

from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display; before any chart is drawn

import numpy as np
import pandas as pd

from engine.reports.model import Report

MARKDOWN = "report.md"


def _cell(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        if value != 0 and abs(value) < 1:
            return f"{value:.3g}"
        return f"{value:,.2f}"
    return str(value).replace("|", "\\|")


def markdown_table(table: pd.DataFrame, rows: int) -> str:
    """The first ``rows`` rows of ``table`` as a Markdown table (numbers readable, ids as written,
    ``|`` escaped)."""
    head = table.head(rows)
    lines = [
        "| " + " | ".join(str(c) for c in head.columns) + " |",
        "|" + "---|" * len(head.columns),
    ]
    ids = [str(c).endswith("_id") for c in head.columns]
    for record in head.itertuples(index=False):
        cells = [
            str(v) if is_id else _cell(v.item() if isinstance(v, np.generic) else v)
            for v, is_id in zip(record, ids, strict=True)
        ]
        lines.append("| " + " | ".join(cells) + " |")
    if len(table) > rows:
        lines.append(f"\n({rows} of {len(table):,} rows shown)")
    return "\n".join(lines)


def render_markdown(report: Report, rows: int, command: str) -> str:
    """``report.md``: title, what it shows, headline numbers, charts, tables (head) and notes."""
    parts = [f"# {report.title}", "", f"Made by `{command}`; weeks before {report.cutoff}.", "", report.about]
    parts += ["", "## Numbers", ""]
    parts += [f"- {k}: {_cell(v)}" for k, v in report.numbers.items()]
    for name in report.figures:
        parts += ["", f"![{name}]({name}.png)"]
    for name, table in report.markdown_tables().items():
        parts += ["", f"## {name}", "", f"Full table: `{name}.csv`, `{name}.parquet`.", ""]
        parts.append(markdown_table(table, rows))
    hidden = [name for name in report.tables if name not in report.markdown_tables()]
    if hidden:
        parts += ["", "Also written: " + ", ".join(f"`{n}.csv`/`{n}.parquet`" for n in hidden) + "."]
    if report.notes:
        parts += ["", "## Notes", ""] + [f"- {n}" for n in report.notes]
    return "\n".join(parts) + "\n"


def write_report(report: Report, folder: Path, *, rows: int, dpi: int, command: str) -> list[Path]:
    """Write every file of ``report`` into ``folder`` (created) and return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, table in report.tables.items():
        for suffix in ("parquet", "csv"):
            path = folder / f"{name}.{suffix}"
            if suffix == "parquet":
                table.to_parquet(path, index=False)
            else:
                table.to_csv(path, index=False)
            written.append(path)
    for name, figure in report.figures.items():
        path = folder / f"{name}.png"
        figure.savefig(path, dpi=dpi, bbox_inches="tight")
        written.append(path)
    path = folder / MARKDOWN
    path.write_text(render_markdown(report, rows, command), encoding="utf-8")
    written.append(path)
    return written


def report_json(report: Report) -> str:
    """The numbers and tables of ``report`` as one JSON document (what ``--json`` prints)."""
    return json.dumps(report.to_dict(), indent=2, allow_nan=False)
