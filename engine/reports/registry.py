"""The report names ``offers report NAME`` knows, what each needs, and running one by name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from engine.errors import DataValidationError, NotFound
from engine.reports import basket, concentration, fairness, offer_economics, sellers, weekly_sales
from engine.reports.config import ReportsConfig
from engine.reports.data import ReportData
from engine.reports.model import Report

Build = Callable[[ReportData, int, ReportsConfig], Report]


@dataclass(frozen=True)
class ReportSpec:
    """A report in the registry: its builder, a one-line summary, and whether it reads challenges."""

    name: str
    summary: str
    build: Build
    needs_challenges: bool = False


REPORTS: dict[str, ReportSpec] = {
    spec.name: spec
    for spec in (
        ReportSpec(sellers.REPORT, "best and worst sellers by sales, margin and trend", sellers.build),
        ReportSpec(basket.NAME, "basket size, department mix, category pairs (lift)", basket.build),
        ReportSpec(
            concentration.NAME, "share of sales from the top members, Lorenz, Gini", concentration.build
        ),
        ReportSpec(weekly_sales.NAME, "weekly sales, total and by department", weekly_sales.build),
        ReportSpec(
            offer_economics.NAME,
            "offers issued/withheld, expected cost and profit, reward value by group",
            offer_economics.build,
            needs_challenges=True,
        ),
        ReportSpec(
            fairness.NAME,
            "value received per member across groups, gaps flagged",
            fairness.build,
            needs_challenges=True,
        ),
    )
}


def get_report(name: str) -> ReportSpec:
    """The report called ``name``; an unknown name raises ``NotFound`` listing the valid ones."""
    try:
        return REPORTS[name]
    except KeyError:
        raise NotFound(
            f"unknown report {name!r}; valid reports: {', '.join(REPORTS)}",
            detail={"report": name, "valid": list(REPORTS)},
        ) from None


def run_report(name: str, data: ReportData, config: ReportsConfig, cutoff: int | None = None) -> Report:
    """Build report ``name``.

    Parameters
    ----------
    cutoff
        The report sees weeks before it; by default every week of the data. The offer reports take
        their week from the challenges file: a different ``cutoff`` is refused.
    """
    spec = get_report(name)
    if spec.needs_challenges:
        if data.challenges is not None and cutoff is not None:
            first = int(data.challenges["week"].min())
            if cutoff != first:
                raise DataValidationError(
                    f"report {name!r}: --as-of {cutoff} differs from the challenges file's week {first}"
                )
        return spec.build(data, cutoff or 0, config)
    if cutoff is not None and cutoff < 2:
        raise DataValidationError(f"report {name!r}: --as-of {cutoff}: no week before it")
    return spec.build(data, data.default_cutoff() if cutoff is None else cutoff, config)
