"""Checks that turn bad input into a :class:`DataValidationError` naming file, column, count and examples.

Two kinds of problem:

* structural (missing columns, values that cannot be coerced to the column's type, empty tables, null
  ids, duplicated keys): the data cannot be trusted at all, so these always raise;
* row-level (unknown items, zero, negative or infinite quantities, negative or infinite sales,
  out-of-range timestamps...): under the ``error`` policy they raise; under ``report`` the rows are
  removed and returned as :class:`~engine.data.schema.DropCount` records, so nothing disappears without
  being counted.

Values changed but kept (ids rewritten to their canonical integer, empty labels filled) are recorded as
``DropCount`` notes too, so ``offers data check`` shows them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from engine.data.schema import DropCount
from engine.errors import DataValidationError

log = logging.getLogger(__name__)

#: How many offending values an error message or drop record shows.
MAX_EXAMPLES = 5

ColumnKind = Literal["id", "int", "float", "str", "bool", "datetime"]
#: Text that names an integer id: optional sign, digits, optional ".0" (a spreadsheet's float export).
_INTEGER_TEXT = r"^\s*[+-]?[0-9]{1,18}(\.0*)?\s*$"


def examples(values: pd.Series | pd.Index | Sequence[object]) -> tuple[str, ...]:
    """Up to :data:`MAX_EXAMPLES` distinct values, rendered as strings, in order of appearance."""
    out: list[str] = []
    for value in pd.unique(pd.Series(list(values) if not isinstance(values, pd.Series) else values)):
        out.append(str(value))
        if len(out) == MAX_EXAMPLES:
            break
    return tuple(out)


def row_examples(values: pd.Series) -> tuple[str, ...]:
    """Up to :data:`MAX_EXAMPLES` distinct offending values, each with the first row it occurs in."""
    first = values[~values.duplicated()].head(MAX_EXAMPLES)
    if len(first) < MAX_EXAMPLES:
        # Few distinct values (e.g. quantity 0): show further rows so the examples still locate rows.
        first = values.head(MAX_EXAMPLES)
    return tuple(f"{value} (row {row})" for row, value in first.items())


def fail(
    where: str, column: str | None, rows: int, what: str, sample: Sequence[str] = ()
) -> DataValidationError:
    """Build the one error shape every check raises: ``file: column 'c': N row(s) what (e.g. ...)``."""
    col = f" column '{column}':" if column else ""
    eg = f" (e.g. {', '.join(sample)})" if sample else ""
    return DataValidationError(
        f"{where}:{col} {rows} row(s) {what}{eg}",
        detail={"file": where, "column": column, "rows": rows, "problem": what, "examples": list(sample)},
    )


def require_columns(frame: pd.DataFrame, required: Sequence[str], where: str) -> None:
    """Raise when any of ``required`` is absent, listing the missing and the available columns."""
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataValidationError(
            f"{where}: missing column(s) {missing}; found {list(frame.columns)}",
            detail={"file": where, "missing": missing, "found": [str(c) for c in frame.columns]},
        )


def require_rows(frame: pd.DataFrame, where: str) -> None:
    """Raise when a table has no rows at all."""
    if frame.empty:
        raise DataValidationError(f"{where}: no rows (empty data)", detail={"file": where, "rows": 0})


def coerce(frame: pd.DataFrame, column: str, kind: ColumnKind, where: str) -> pd.Series:
    """Convert ``frame[column]`` to the canonical dtype for ``kind``; values that do not convert raise.

    ``id`` columns stay int64 when every value is integral and become strings otherwise, so outputs name
    members and items as the retailer does. Nulls are left as they are (null checks come separately).
    """
    col = frame[column]
    if kind == "id":
        if pd.api.types.is_integer_dtype(col.dtype) and not isinstance(col.dtype, pd.CategoricalDtype):
            return col.astype("int64")
        if pd.api.types.is_float_dtype(col.dtype):
            whole = col.dropna()
            if bool((whole == np.floor(whole)).all()) and not col.isna().any():
                return col.astype("int64")
        text = col.astype("str").where(col.notna())
        if not col.isna().any() and len(col) and bool(text.str.match(_INTEGER_TEXT).all()):
            # Text ids that are all integers ("001", "1") become int64 like numeric files' ids, so
            # one member has one id; :func:`normalised_ids` reports the ids this rewrote.
            digits = text.str.strip().str.replace(r"\.0*$", "", regex=True).str.lstrip("+")
            return pd.to_numeric(digits).astype("int64")
        return text
    if kind == "str":
        return col.astype("str").where(col.notna())
    if kind == "bool":
        if pd.api.types.is_bool_dtype(col.dtype):
            return col.astype(bool)
        text = col.astype("str").str.strip().str.lower()
        mapping = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}
        bad = col.notna() & ~text.isin(list(mapping))
        if bad.any():
            raise fail(where, column, int(bad.sum()), "are not booleans", examples(col[bad]))
        return text.map(mapping).fillna(False).astype(bool)
    if kind == "datetime":
        converted = pd.to_datetime(col, errors="coerce")
        retry = col.notna() & converted.isna()
        if retry.any():
            # The fast path infers one format from the first value; files mixing formats
            # ("2017-01-16" beside "2017-01-09 12:00") get a per-value parse for the rest only.
            converted = converted.where(~retry, pd.to_datetime(col[retry], errors="coerce", format="mixed"))
        converted = converted.astype("datetime64[ns]")
    else:
        converted = pd.to_numeric(col, errors="coerce")
    bad = col.notna() & converted.isna()
    if bad.any():
        raise fail(where, column, int(bad.sum()), f"cannot be read as {kind}", examples(col[bad]))
    if kind == "int":
        if converted.isna().any():
            raise fail(where, column, int(converted.isna().sum()), "are empty")
        fractional = converted != np.floor(converted)
        if fractional.any():
            raise fail(
                where, column, int(fractional.sum()), "are not whole numbers", examples(col[fractional])
            )
        return converted.astype("int64")
    if kind == "float":
        return converted.astype("float64")
    return converted


def normalised_ids(raw: pd.Series, ids: pd.Series, table: str, column: str) -> DropCount | None:
    """A note on the ids :func:`coerce` rewrote (``'001' -> 1``), and how many it merged with another id.

    ``raw`` is the column as read, ``ids`` what :func:`coerce` made of it; ``None`` when nothing changed.
    """
    if not pd.api.types.is_integer_dtype(ids.dtype) or pd.api.types.is_numeric_dtype(raw.dtype):
        return None
    text = raw.astype("str")
    changed = text != ids.astype("str")
    if not changed.any():
        return None
    pairs = pd.DataFrame({"raw": text, "id": ids}).drop_duplicates()
    spellings = pairs.groupby("id")["raw"].transform("size")
    rewritten = pairs[pairs["raw"] != pairs["id"].astype("str")]
    merged = int((spellings.loc[rewritten.index] > 1).sum())
    how = f", {merged} of them merged with another id" if merged else ""
    sample = tuple(f"{r!r} -> {i}" for r, i in rewritten.head(MAX_EXAMPLES).itertuples(index=False))
    reason = f"{column}: {len(rewritten)} id(s) rewritten to canonical form{how} (rows kept)"
    return DropCount(table, reason, int(changed.sum()), sample)


def require_no_nulls(frame: pd.DataFrame, columns: Sequence[str], where: str) -> None:
    """Raise when an id column (or any other must-have column) holds empty values."""
    for column in columns:
        nulls = frame[column].isna()
        if nulls.any():
            rows = np.flatnonzero(nulls.to_numpy())
            raise fail(
                where, column, int(nulls.sum()), "are empty", tuple(f"row {r}" for r in rows[:MAX_EXAMPLES])
            )


def require_unique(frame: pd.DataFrame, column: str, where: str) -> None:
    """Raise when a key column has duplicated values."""
    dup = frame[column].duplicated(keep=False)
    if dup.any():
        raise fail(where, column, int(dup.sum()), "share a duplicated key", examples(frame.loc[dup, column]))


@dataclass(frozen=True)
class RowCheck:
    """One row-level rule: ``mask`` marks the offending rows, ``column`` is the column it is about."""

    table: str
    column: str
    reason: str
    mask: pd.Series
    #: Column whose values the examples show (default: ``column``), e.g. the item id for a catalog row.
    show: str | None = None


def apply_row_checks(
    frame: pd.DataFrame,
    checks: Sequence[RowCheck],
    where: str,
    policy: Literal["report", "error"],
) -> tuple[pd.DataFrame, tuple[DropCount, ...]]:
    """Apply row-level rules in order; raise (``error``) or remove and record (``report``).

    A row failing several rules is counted once, under the first rule it fails, so the drop counts add
    up to the rows removed.
    """
    removed = pd.Series(False, index=frame.index)
    drops: list[DropCount] = []
    for check in checks:
        new = check.mask.reindex(frame.index, fill_value=False).astype(bool) & ~removed
        n = int(new.sum())
        if n == 0:
            continue
        sample = row_examples(frame.loc[new, check.show or check.column])
        if policy == "error":
            raise fail(where, check.column, n, check.reason, sample)
        drops.append(DropCount(check.table, f"{check.column}: {check.reason}", n, sample))
        removed |= new
    for drop in drops:
        log.info("%s: removed %d row(s) of %s: %s", where, drop.rows, drop.table, drop.reason)
    if not removed.any():
        return frame, tuple(drops)
    return frame.loc[~removed].reset_index(drop=True), tuple(drops)
