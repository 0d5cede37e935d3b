"""A report as data: headline numbers, summary tables and charts, before anything is written."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

Number = float | int | str | None


@dataclass(frozen=True)
class Report:
    """One report's content; :func:`engine.reports.writer.write_report` turns it into files.

    Attributes
    ----------
    name
        The report's name in the registry (``offers report NAME``).
    title
        Heading of ``report.md``.
    cutoff
        The report sees the weeks before this week.
    about
        What the report shows and how each number is defined (Markdown paragraphs).
    numbers
        Headline numbers, JSON-ready (NaN is written as ``null``).
    tables
        Summary tables, each written as ``<name>.parquet`` and ``<name>.csv`` and shown in
        ``report.md`` (its first rows).
    figures
        Charts, each written as ``<name>.png``.
    notes
        Caveats the reader must know (data missing, horizons cut short).
    in_markdown
        The tables ``report.md`` shows (default: every table); the others are in the files only.
    """

    name: str
    title: str
    cutoff: int
    about: str
    numbers: dict[str, Number]
    tables: dict[str, pd.DataFrame]
    figures: dict[str, Figure] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    in_markdown: tuple[str, ...] | None = None

    def markdown_tables(self) -> dict[str, pd.DataFrame]:
        """The tables ``report.md`` shows, in order."""
        if self.in_markdown is None:
            return self.tables
        return {name: self.tables[name] for name in self.in_markdown}

    def to_dict(self) -> dict[str, Any]:
        """The numbers and every table as plain JSON-ready data (NaN as ``None``)."""
        return {
            "report": self.name,
            "title": self.title,
            "cutoff": self.cutoff,
            "numbers": {k: _plain(v) for k, v in self.numbers.items()},
            "tables": {
                name: json.loads(table.to_json(orient="records", double_precision=10))
                for name, table in self.tables.items()
            },
            "notes": list(self.notes),
        }


def _plain(value: Number) -> Number:
    if isinstance(value, float) and value != value:  # NaN has no JSON form
        return None
    return value
