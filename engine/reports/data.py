"""What every report reads: the validated data set, the optional demographics and a saved challenges file.

:func:`load_report_data` reads them once for a run of ``offers report``; a report then looks only at the
weeks before its cutoff (:func:`window`), so a report "as of week 30" sees what was known at week 30.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from engine.challenge import FRAME_COLUMNS
from engine.data.loaders import load_dataset
from engine.data.schema import MEMBER_ID, WEEK, Dataset
from engine.data.signals import DEMOGRAPHIC_COLUMNS
from engine.data.tiers import TiersConfig
from engine.errors import DataValidationError

COMPLETE_JOURNEY = "completejourney"


@dataclass(frozen=True)
class ReportData:
    """The inputs of every report.

    Attributes
    ----------
    dataset
        Validated transactions, catalog and members (:func:`engine.data.loaders.load_dataset`).
    tiers
        How tiers are derived from trailing spend (``configs/tiers.toml``), re-derived at each cutoff.
    demographics
        ``member_id`` and :data:`~engine.data.signals.DEMOGRAPHIC_COLUMNS` (strings); ``None`` when the
        source has no demographics (every member is then in the ``unknown`` group).
    coupons
        ``member_id, week, redemptions`` (the ladder's advocate test reads them); ``None`` when the source
        has none.
    challenges
        A saved ``offers challenges`` file (:func:`engine.challenge.challenges_frame` columns), for the
        offer reports; ``None`` when not given.
    """

    dataset: Dataset
    tiers: TiersConfig
    demographics: pd.DataFrame | None = None
    challenges: pd.DataFrame | None = None
    coupons: pd.DataFrame | None = None

    def default_cutoff(self) -> int:
        """The week after the data's last week: every transaction counts."""
        return self.dataset.n_weeks + 1


def window(transactions: pd.DataFrame, cutoff: int, weeks: int) -> pd.DataFrame:
    """Transactions of the ``weeks`` weeks before ``cutoff`` (``cutoff - weeks <= week < cutoff``)."""
    week = transactions[WEEK]
    return transactions[(week >= cutoff - weeks) & (week < cutoff)]


def read_challenges(path: Path) -> pd.DataFrame:
    """Read a saved ``offers challenges`` Parquet file; a file lacking its stable columns is refused."""
    if not path.is_file():
        raise DataValidationError(f"{path}: challenges file not found (write one with `offers challenges`)")
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises many types; all mean "not a challenges file"
        raise DataValidationError(f"{path}: cannot be read as Parquet: {exc}") from exc
    needed = (*FRAME_COLUMNS, "reason_code", "expected_cost", "p_complete")
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise DataValidationError(
            f"{path}: not an `offers challenges` file: missing columns {missing}",
            detail={"file": str(path), "missing": missing},
        )
    if frame[MEMBER_ID].isna().any():
        raise DataValidationError(f"{path}: member_id: empty values")
    return frame


def load_report_data(data_config: Path | None = None, challenges: Path | None = None) -> ReportData:
    """Load the data source of ``data_config`` (default ``configs/data.toml``), without the promotion
    calendar, which no report reads, and the saved ``challenges`` file if given.

    Demographics and coupon redemptions come with Complete Journey; a retailer's own files have none.
    """
    from engine.data.config import CompleteJourneySource, load_data_config
    from engine.data.signals import read_complete_journey_coupons, read_complete_journey_demographics
    from engine.data.tiers import load_tiers_config

    config = load_data_config() if data_config is None else load_data_config(data_config)
    source = config.source
    if isinstance(source, CompleteJourneySource):
        config = config.model_copy(update={"source": source.model_copy(update={"promotions": False})})
    dataset = load_dataset(config)
    demographics = coupons = None
    if dataset.source == COMPLETE_JOURNEY:
        demographics = read_complete_journey_demographics().loc[:, [MEMBER_ID, *DEMOGRAPHIC_COLUMNS]]
        coupons = read_complete_journey_coupons(config.week_start)
    return ReportData(
        dataset=dataset,
        tiers=load_tiers_config(config.tiers),
        demographics=demographics,
        challenges=None if challenges is None else read_challenges(challenges),
        coupons=coupons,
    )
