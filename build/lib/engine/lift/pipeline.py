"""``offers lift estimate`` end to end: read, estimate, decide, write the lift file and the report."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from tqdm.auto import tqdm

from engine.lift.config import LiftEstimateConfig
from engine.lift.estimate import STEPS, LiftEvidence, estimate_lifts, sample_households
from engine.lift.files import write_lift_file
from engine.lift.report import write_report
from engine.lift.sources import read_promotion_tables
from engine.lift.write import decide
from engine.rules.lift import LiftFile


@dataclass(frozen=True)
class LiftRun:
    """What a run produced."""

    evidence: LiftEvidence
    lift_file: LiftFile
    decisions: list[str]
    files: list[Path]


def run_lift_estimate(
    config: LiftEstimateConfig,
    data_dir: Path,
    out: Path,
    report_dir: Path,
    command: str,
    *,
    progress: bool = True,
    today: date | None = None,
    source: str | None = None,
) -> LiftRun:
    """Estimate the lifts from the tables in ``data_dir``; write the lift file ``out`` and the report.

    ``source`` names the data in the file and the report (default: the folder's path).
    """
    today = today or date.today()
    bar = tqdm(total=STEPS + 1, desc="lift estimate", disable=not progress)
    try:
        bar.set_postfix_str("reading tables")
        households = None
        if config.sample_households is not None:
            # the sample is drawn from the purchases, then every table is read for it alone
            everyone = read_promotion_tables(data_dir, with_promotions=False)
            households = sample_households(everyone, config)
        tables = read_promotion_tables(data_dir, households)
        if source is not None:
            tables = replace(tables, source=source)
        bar.update(1)

        def step(label: str) -> None:
            bar.set_postfix_str(label)
            bar.update(1)

        evidence = estimate_lifts(tables, config, step, sampled=households is not None)
    finally:
        bar.close()
    lift_file, decisions = decide(evidence, today)
    header = [
        f"Written by `{command}` on {today.isoformat()} from {evidence.source}",
        f"({'a fixed-seed sample of ' if evidence.sampled else ''}{evidence.households:,} households; "
        f"primary method {config.primary_method}). Report: {report_dir / 'report.md'}",
        *decisions,
    ]
    written = write_lift_file(lift_file, header, out)
    files = [written, *write_report(evidence, lift_file, decisions, command, out, report_dir)]
    return LiftRun(evidence, lift_file, decisions, files)
