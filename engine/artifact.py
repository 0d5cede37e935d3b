"""The candidate artifact: what training exports and what rules, challenges and serving read.

It is a directory of Parquet files plus a JSON manifest, loadable with pandas/pyarrow alone (no training
code, no MLflow). One directory per model version. Scores are calibrated probabilities so the economic
guard can do arithmetic with them.

manifest.json
    format_version  int     ARTIFACT_FORMAT_VERSION
    model_version   str     unique id of this trained model (also the MLflow registered version tag)
    as_of_week      int     training used only transactions with week < as_of_week
    challenge_week  int     the week the candidates are scored for (== as_of_week)
    created_at      str     ISO-8601 UTC
    data_fingerprint str    hash of the training data
    metrics         dict    optional training metrics

habitual.parquet      top-K products per member the member has bought before (K from configs/train.toml)
    member_id, item_id, score (P(buy item in challenge week)), n_baskets (baskets with the item before
    the cutoff), last_week (last week bought before the cutoff), rank (1 = best)
stretch.parquet       top-K categories per member the member has NEVER bought before the cutoff
    member_id, category, score (P(member buys in category in challenge week)), suggested_item_id
    (the product to suggest in it), expected_margin (score * unit margin of the suggested item), rank
items.parquet         every item that appears in a candidate or popular list
    item_id, name, category, department, price, margin_rate, excluded
    price is what members are expected to pay in the challenge week (shelf price less the everyday
    loyalty discount and the planned promotion's, :mod:`engine.data.prices`) and margin_rate the net
    margin rate at that price (negative: sold below cost); both from weeks before the cutoff only.
    Optional columns (:data:`OPTIONAL_COLUMNS`; an artifact written before them reads with the defaults):
    shelf_price, unit_cost, loyalty_discount_share (everyday), promo_discount_share (expected discount
    when promoted), promo_store_share (share of stores with the item on display or in the mailer in the
    challenge week; promo_display_share and promo_mailer_share its parts), repeat_margin and
    repeat_share (its category's habit value, see categories), adopter_spend (what new adopters of its
    category spend on it over the habit horizon; NaN when unknown)
members.parquet       every member known at training time
    member_id, tier, spend_52w, last_week
    Optional (:data:`OPTIONAL_MEMBER_COLUMNS`, win-back): previous_tier (the higher tier the member's
    trailing spend lost within the lookback, :func:`engine.data.tiers.tier_drops`; null when none) and
    dropped_week (the first cutoff below it); checked on reading: a tier name above ``tier``, or null
    Optional (:data:`OPTIONAL_TEXT_COLUMNS`, written only when the members file had them): name,
    language, time_zone (how a message addresses the member)
member_categories.parquet   categories each member bought before the cutoff (stretch must avoid them)
    member_id, category
popular_items.parquet       cold start: items by share of active members buying them in a week
    item_id, score, rank
popular_categories.parquet  cold start: categories by weekly adoption share among non-buyers
    category, score, suggested_item_id, rank

Value ranges, checked by :func:`read_artifact` (:data:`VALUE_RANGES`): every score is a probability in
[0, 1], ``expected_margin`` and ``price`` are finite and not negative, ``margin_rate`` is in [0, 1]. A file
that cannot be read or breaks a range raises :class:`~engine.errors.InvalidArtifact` naming the file,
the column, the number of rows and examples, so a bad artifact is refused before it is published.

categories.parquet    optional (:data:`OPTIONAL_TABLES`): the habit value per category
    (:mod:`engine.train.habit`): category, department, adopters, repeat_margin (mean net margin of the
    adopters' purchases of the category over the horizon after adopting), repeat_share (share of
    adopters who bought it again); an artifact without it reads as an empty table
member_loyalty.parquet   optional: each member's ladder stage and segments at the cutoff
    (:mod:`engine.loyalty.table`): member_id, stage, segments (comma-joined names), segments_version;
    checked on reading (stages known, names well formed, one row per member)
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from engine.data.schema import TIERS
from engine.errors import ArtifactError, InvalidArtifact
from engine.loyalty.table import check_loyalty_table

ARTIFACT_FORMAT_VERSION = 1

TABLES: dict[str, tuple[str, ...]] = {
    "habitual": ("member_id", "item_id", "score", "n_baskets", "last_week", "rank"),
    "stretch": ("member_id", "category", "score", "suggested_item_id", "expected_margin", "rank"),
    "items": ("item_id", "name", "category", "department", "price", "margin_rate", "excluded"),
    "members": ("member_id", "tier", "spend_52w", "last_week"),
    "member_categories": ("member_id", "category"),
    "popular_items": ("item_id", "score", "rank"),
    "popular_categories": ("category", "score", "suggested_item_id", "rank"),
}

#: Columns added to a table after its format shipped, with the value an older artifact reads as.
#: Written when present; a missing one is filled on reading, so older artifacts keep loading.
OPTIONAL_COLUMNS: dict[str, dict[str, float]] = {
    "items": {
        "shelf_price": math.nan,
        "unit_cost": math.nan,
        "loyalty_discount_share": 0.0,
        "promo_discount_share": 0.0,
        # no planned promotion known: an older artifact never refuses an item as promotion-stacked
        "promo_store_share": 0.0,
        "promo_display_share": 0.0,
        "promo_mailer_share": 0.0,
        # no habit value claimed without evidence
        "repeat_margin": 0.0,
        "repeat_share": 0.0,
        # what new adopters of the item's category spend on it: unknown in an older artifact
        "adopter_spend": math.nan,
    },
}

#: Optional columns of the ``members`` table (win-back); missing ones read as null (no drop).
OPTIONAL_MEMBER_COLUMNS: tuple[str, ...] = ("previous_tier", "dropped_week")
#: Optional text columns: written when present, absent (not filled) otherwise; a reader treats a missing
#: column, like an empty value, as "not known".
OPTIONAL_TEXT_COLUMNS: dict[str, tuple[str, ...]] = {"members": ("name", "language", "time_zone")}

#: Tables added after the format shipped: written when non-empty, read as empty when absent.
OPTIONAL_TABLES: dict[str, tuple[str, ...]] = {
    "categories": ("category", "department", "adopters", "repeat_margin", "repeat_share"),
    "member_loyalty": ("member_id", "stage", "segments", "segments_version"),
}


def _empty(name: str) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in OPTIONAL_TABLES[name]})


def _empty_categories() -> pd.DataFrame:
    return _empty("categories")


def _empty_loyalty() -> pd.DataFrame:
    return _empty("member_loyalty")


#: (table, column) -> (lowest, highest) allowed value; NaN and infinities are never allowed.
VALUE_RANGES: dict[tuple[str, str], tuple[float, float]] = {
    **{(t, "score"): (0.0, 1.0) for t in ("habitual", "stretch", "popular_items", "popular_categories")},
    ("stretch", "expected_margin"): (0.0, np.inf),
    ("items", "price"): (0.0, np.inf),
    ("items", "margin_rate"): (0.0, 1.0),
}
#: How many offending rows an error names.
MAX_EXAMPLES = 5


@dataclass(frozen=True)
class Manifest:
    """The artifact's identity and provenance."""

    model_version: str
    as_of_week: int
    challenge_week: int
    created_at: str
    data_fingerprint: str
    format_version: int = ARTIFACT_FORMAT_VERSION
    metrics: dict[str, float] | None = None
    #: Which data the model was trained on (``Dataset.source``); decides automatic promotion
    #: (:mod:`engine.champion`). None in artifacts written before it was recorded.
    data_source: str | None = None


@dataclass(frozen=True)
class CandidateArtifact:
    """All tables of one model version, in memory."""

    manifest: Manifest
    habitual: pd.DataFrame
    stretch: pd.DataFrame
    items: pd.DataFrame
    members: pd.DataFrame
    member_categories: pd.DataFrame
    popular_items: pd.DataFrame
    popular_categories: pd.DataFrame
    #: Optional (:data:`OPTIONAL_TABLES`): habit value per category.
    categories: pd.DataFrame = field(default_factory=_empty_categories)
    #: Optional (:data:`OPTIONAL_TABLES`): stage and segments per member.
    member_loyalty: pd.DataFrame = field(default_factory=_empty_loyalty)

    def table(self, name: str) -> pd.DataFrame:
        """One table by its name in :data:`TABLES` or :data:`OPTIONAL_TABLES`."""
        frame: pd.DataFrame = getattr(self, name)
        return frame


def write_artifact(artifact: CandidateArtifact, directory: Path) -> Path:
    """Write ``artifact`` under ``directory`` (created); returns the directory."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, columns in TABLES.items():
        frame = artifact.table(name)
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ArtifactError(f"cannot write artifact table {name!r}: missing columns {missing}")
        optional = [*OPTIONAL_COLUMNS.get(name, {}), *(OPTIONAL_MEMBER_COLUMNS if name == "members" else ())]
        optional += OPTIONAL_TEXT_COLUMNS.get(name, ())
        extra = [c for c in optional if c in frame.columns]
        frame.loc[:, [*columns, *extra]].to_parquet(directory / f"{name}.parquet", index=False)
    for name, columns in OPTIONAL_TABLES.items():
        frame = artifact.table(name)
        if frame.empty:
            continue
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ArtifactError(f"cannot write artifact table {name!r}: missing columns {missing}")
        frame.loc[:, list(columns)].to_parquet(directory / f"{name}.parquet", index=False)
    manifest: dict[str, Any] = dict(artifact.manifest.__dict__)
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return directory


def read_manifest(directory: Path) -> Manifest:
    """Read and check only the manifest of an artifact directory."""
    path = directory / "manifest.json"
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise InvalidArtifact(f"{directory}: not a candidate artifact (no manifest.json)") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidArtifact(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise InvalidArtifact(f"{path}: expected a JSON object, got {type(raw).__name__}")
    version = raw.get("format_version")
    if version != ARTIFACT_FORMAT_VERSION:
        raise InvalidArtifact(
            f"{path}: format_version {version!r} is not supported (expected {ARTIFACT_FORMAT_VERSION})"
        )
    try:
        return Manifest(**raw)
    except TypeError as exc:
        raise InvalidArtifact(f"{path}: bad manifest: {exc}") from exc


def check_values(name: str, frame: pd.DataFrame, where: Path | str) -> None:
    """Raise :class:`InvalidArtifact` when a column of table ``name`` leaves its :data:`VALUE_RANGES`."""
    for (table, column), (low, high) in VALUE_RANGES.items():
        if table != name:
            continue
        values = pd.to_numeric(frame[column], errors="coerce").astype("float64")
        bad = ~np.isfinite(values) | (values < low) | (values > high)
        if bad.any():
            rows = [f"{frame[column].iloc[i]!r} (row {i})" for i in np.flatnonzero(bad)[:MAX_EXAMPLES]]
            span = f"{low:g}..{high:g}" if np.isfinite(high) else f">= {low:g}"
            raise InvalidArtifact(
                f"{where}: column {column!r}: {int(bad.sum())} row(s) are not finite numbers in {span} "
                f"(e.g. {', '.join(rows)})"
            )


def _read_table(path: Path, columns: Sequence[str]) -> pd.DataFrame:
    """One table file with its required ``columns``, or :class:`InvalidArtifact` saying what is wrong."""
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise InvalidArtifact(f"{path}: not a readable Parquet file: {exc}") from exc
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InvalidArtifact(f"{path}: missing columns {missing}")
    return frame


def read_artifact(directory: Path | str) -> CandidateArtifact:
    """Load every table of an artifact directory, checking its columns and value ranges.

    Raises
    ------
    InvalidArtifact
        A file is missing or unreadable (truncated, not Parquet), a column is missing, or a value is
        outside :data:`VALUE_RANGES`; the message names the file and column.
    """
    directory = Path(directory)
    manifest = read_manifest(directory)
    tables: dict[str, pd.DataFrame] = {}
    for name, columns in TABLES.items():
        path = directory / f"{name}.parquet"
        if not path.exists():
            raise InvalidArtifact(f"{directory}: missing table {path.name}")
        frame = _read_table(path, columns)
        check_values(name, frame, path)
        defaults = {c: v for c, v in OPTIONAL_COLUMNS.get(name, {}).items() if c not in frame.columns}
        tables[name] = frame.assign(**defaults) if defaults else frame
    tables["members"] = check_tier_drops(tables["members"], directory / "members.parquet")
    for name, columns in OPTIONAL_TABLES.items():
        path = directory / f"{name}.parquet"
        tables[name] = _read_table(path, columns) if path.exists() else _empty(name)
    check_loyalty_table(tables["member_loyalty"], str(directory / "member_loyalty.parquet"))
    return CandidateArtifact(manifest=manifest, **tables)


def check_tier_drops(members: pd.DataFrame, where: Path | str) -> pd.DataFrame:
    """``members`` with its win-back columns present and checked (null: no drop).

    Raises :class:`InvalidArtifact` when a ``previous_tier`` is not a tier name ranking above the
    member's ``tier``, or a member with one has no whole ``dropped_week``.
    """
    out = members.copy()
    for column in OPTIONAL_MEMBER_COLUMNS:
        if column not in out.columns:
            out[column] = None
    previous = out["previous_tier"].astype(object).where(out["previous_tier"].notna(), None)
    rank = {name: k for k, name in enumerate(TIERS)}
    now = out["tier"].map(rank)
    before = previous.map(lambda t: rank.get(t, -1) if isinstance(t, str) else None)
    bad = previous.notna() & ~(before.astype(float) > now.astype(float))
    weeks = pd.to_numeric(out["dropped_week"], errors="coerce")
    bad_week = previous.notna() & ~(np.isfinite(weeks) & (weeks == np.round(weeks)))
    for mask, column, what in (
        (bad, "previous_tier", f"must be one of {list(TIERS)} ranking above the member's tier, or null"),
        (bad_week, "dropped_week", "must be a whole week number where previous_tier is set"),
    ):
        if mask.any():
            rows = [f"{out[column].iloc[i]!r} (row {i})" for i in np.flatnonzero(mask)[:MAX_EXAMPLES]]
            raise InvalidArtifact(
                f"{where}: column {column!r}: {int(mask.sum())} row(s) {what} (e.g. {', '.join(rows)})"
            )
    out["previous_tier"] = previous
    out["dropped_week"] = pd.array(
        [int(w) if p is not None else pd.NA for w, p in zip(weeks.tolist(), previous.tolist(), strict=True)],
        dtype="Int64",
    )
    return out
