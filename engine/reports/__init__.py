"""Marketer reports: ``offers report NAME`` writes Markdown, PNG charts and Parquet/CSV summary tables.

Public API
    :data:`REPORTS`, :func:`get_report`, :func:`run_report`, :class:`ReportSpec`      ``registry.py``
    :class:`Report` (numbers, tables, figures)                                        ``model.py``
    :func:`write_report`, :func:`report_json`, :func:`markdown_table`                ``writer.py``
    :class:`ReportData`, :func:`load_report_data`, :func:`read_challenges`           ``data.py``
    :func:`member_groups`, :data:`GROUPINGS` (the one place member groupings live)    ``groups.py``
    :class:`ReportsConfig`, :func:`load_reports_config` (``configs/reports.toml``)    ``config.py``

One module per report: ``sellers``, ``basket``, ``concentration``, ``weekly_sales``,
``offer_economics``, ``fairness`` (the last two read a saved ``offers challenges`` file through
``offers.py``).
"""

from engine.reports.config import ReportsConfig, load_reports_config
from engine.reports.data import ReportData, load_report_data, read_challenges
from engine.reports.groups import GROUPINGS, member_groups
from engine.reports.model import Report
from engine.reports.registry import REPORTS, ReportSpec, get_report, run_report
from engine.reports.writer import markdown_table, report_json, write_report

__all__ = [
    "GROUPINGS",
    "REPORTS",
    "Report",
    "ReportData",
    "ReportSpec",
    "ReportsConfig",
    "get_report",
    "load_report_data",
    "load_reports_config",
    "markdown_table",
    "member_groups",
    "read_challenges",
    "report_json",
    "run_report",
    "write_report",
]
