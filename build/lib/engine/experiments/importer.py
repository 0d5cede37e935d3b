"""Bulk import of purchase events and negative signals from a Parquet or CSV file, all or nothing.

Purchases: required columns ``event_id, member_id, item_id, week, quantity, sales_value``; optional
``timestamp, transaction_id``. Signals (opt-outs, unsubscribes, blocked notifications): required
``event_id, member_id, kind, week``; optional ``timestamp``. Every row is validated first; if any is
bad, nothing is stored and the error names the file, how many rows are bad and the first few with their
problem. Re-importing a file is harmless (event ids are idempotent; a repeated purchase id with other
content is a Conflict and rolls the whole file back).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
from pydantic import ValidationError

from engine.errors import DataValidationError
from engine.experiments.events import OptOutEvent, Progress, PurchaseEvent
from engine.experiments.protocol import EventStore

REQUIRED_COLUMNS: tuple[str, ...] = ("event_id", "member_id", "item_id", "week", "quantity", "sales_value")
OPTIONAL_COLUMNS: tuple[str, ...] = ("timestamp", "transaction_id")
SIGNAL_COLUMNS: tuple[str, ...] = ("event_id", "member_id", "kind", "week")
SIGNAL_OPTIONAL_COLUMNS: tuple[str, ...] = ("timestamp",)
#: Columns read as text, whatever they look like.
_TEXT_COLUMNS = ("event_id", "member_id", "item_id", "transaction_id", "kind")
E = TypeVar("E", PurchaseEvent, OptOutEvent)
#: How many bad rows an error message quotes.
_EXAMPLES = 5


def read_events_file(
    path: Path | str,
    required: tuple[str, ...] = REQUIRED_COLUMNS,
    optional: tuple[str, ...] = OPTIONAL_COLUMNS,
) -> pd.DataFrame:
    """Read a ``.parquet`` or ``.csv`` events file with columns ``required`` (+ ``optional``), ids as text."""
    path = Path(path)
    if not path.exists():
        raise DataValidationError(f"{path}: events file not found")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        frame = pd.read_parquet(path)
    elif suffix == ".csv":
        frame = pd.read_csv(path, dtype=dict.fromkeys(_TEXT_COLUMNS, str))
    else:
        raise DataValidationError(f"{path}: unsupported events file type {suffix!r} (use .parquet or .csv)")
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataValidationError(f"{path}: missing column(s) {missing}; found {list(frame.columns)}")
    extra = [c for c in frame.columns if c not in required + optional]
    if extra:
        raise DataValidationError(f"{path}: unknown column(s) {extra}")
    return frame


def parse_purchases(frame: pd.DataFrame, where: str) -> list[PurchaseEvent]:
    """Validate every row; raises :class:`DataValidationError` listing the bad ones (none stored)."""
    return _parse(PurchaseEvent, frame, where)


def _parse(model: type[E], frame: pd.DataFrame, where: str) -> list[E]:
    events: list[E] = []
    bad: list[str] = []
    n_bad = 0
    records: list[dict[str, Any]] = frame.astype(object).where(frame.notna(), None).to_dict("records")
    for i, row in enumerate(records):
        for key in _TEXT_COLUMNS:
            if row.get(key) is not None:
                row[key] = str(row[key])
        try:
            events.append(model.model_validate(row))
        except ValidationError as exc:
            n_bad += 1
            if len(bad) < _EXAMPLES:
                problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
                bad.append(f"row {i + 1}: {problems}")
    if n_bad:
        raise DataValidationError(
            f"{where}: {n_bad} of {len(records)} event row(s) invalid, nothing imported:\n  "
            + "\n  ".join(bad)
        )
    ids = pd.Series([e.event_id for e in events])
    clashes = ids[ids.duplicated()].unique()
    if len(clashes):
        raise DataValidationError(
            f"{where}: {len(clashes)} event id(s) repeat in the file, e.g. {list(clashes[:5])}"
        )
    return events


def import_purchases(store: EventStore, path: Path | str) -> list[Progress]:
    """Import a purchase events file into ``store`` in one transaction; returns the progress touched."""
    frame = read_events_file(path)
    events = parse_purchases(frame, str(path))
    # One transaction: an event id clashing with different stored content (Conflict) rolls back all.
    return store.add_purchases(events)


def import_signals(store: EventStore, path: Path | str) -> tuple[int, int]:
    """Import a negative signals file into ``store``: ``(rows, new)``, the signals not seen before.

    Every row is validated before the first is stored; each is then stored on its own (ids are
    idempotent, so re-running a file after an interruption stores the rest).
    """
    frame = read_events_file(path, SIGNAL_COLUMNS, SIGNAL_OPTIONAL_COLUMNS)
    events = _parse(OptOutEvent, frame, str(path))
    return len(events), sum(store.add_opt_out(event) for event in events)
