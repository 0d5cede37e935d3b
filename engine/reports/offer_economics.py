"""Offer economics: offers issued and withheld (by reason), expected cost and profit and reward value,
overall and per member group (tier, activity, demographics and every grouping of
:func:`~engine.reports.groups.member_groups`).

The totals follow the rules preview's definitions (:class:`engine.rules.preview.Totals`): expected
reward cost and expected incremental profit are summed over issued challenges; a withheld member counts
under the machine-readable reason code of their no-offer.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from engine.data.schema import MEMBER_ID, TIER
from engine.reports.config import ReportsConfig
from engine.reports.data import ReportData
from engine.reports.groups import GROUPINGS, ordered_levels
from engine.reports.model import Report
from engine.reports.offers import ISSUED, offer_rows, provenance

NAME = "offer-economics"


def _summary(rows: pd.DataFrame) -> dict[str, float | int]:
    issued = rows[rows["issued"]]
    n, k = len(rows), len(issued)
    return {
        "members": n,
        "issued": k,
        "withheld": n - k,
        "issue_rate": k / n if n else math.nan,
        "reward_value": float(issued["reward_value"].sum()),
        "mean_reward_value": float(issued["reward_value"].mean()) if k else math.nan,
        "mean_reward_stars": float(issued["reward_stars"].mean()) if k else math.nan,
        "expected_reward_cost": float(issued["expected_reward_value"].sum()),
        "expected_profit": float(issued["expected_profit"].sum()),
        "expected_profit_per_offer": float(issued["expected_profit"].mean()) if k else math.nan,
        "mean_p_complete": float(issued["p_complete"].mean()) if k else math.nan,
        "completion_rate": float(issued["completed"].mean()) if k else math.nan,
        "realised_reward_cost": float(issued["realised_reward_value"].sum(min_count=1)) if k else math.nan,
    }


def by_group(rows: pd.DataFrame, unknown: str) -> pd.DataFrame:
    """:func:`_summary` per level of every grouping, long form: ``grouping, group`` then the numbers."""
    out = []
    for grouping in GROUPINGS:
        for level in ordered_levels(grouping, rows[grouping].unique(), unknown):
            part = rows[rows[grouping] == level]
            out.append({"grouping": grouping, "group": level, **_summary(part)})
    frame = pd.DataFrame(out)
    return frame.astype(dict.fromkeys(("members", "issued", "withheld"), "int64"))


def withheld_by_reason(rows: pd.DataFrame, unknown: str) -> pd.DataFrame:
    """Withheld members per reason code, in total and per tier (columns), most frequent reason first."""
    withheld = rows[rows["status"] != ISSUED]
    tiers = ordered_levels(TIER, rows[TIER].unique(), unknown)
    table = pd.crosstab(withheld["reason_code"], withheld[TIER]).reindex(columns=tiers, fill_value=0)
    table.insert(0, "members", table.sum(axis=1))
    table.insert(1, "share_of_withheld", table["members"] / max(len(withheld), 1))
    table = table.sort_values(["members"], ascending=False, kind="mergesort")
    table.columns.name = None
    return table.rename_axis("reason_code").reset_index()


def _figure(groups: pd.DataFrame, reasons: pd.DataFrame) -> Figure:
    tiers = groups[groups["grouping"] == TIER]
    fig = Figure(figsize=(14, 4.5))
    ax_rate, ax_money, ax_reason = fig.subplots(1, 3)
    ax_rate.bar(tiers["group"], tiers["issue_rate"], color="tab:blue")
    ax_rate.set(title="Members issued a challenge", ylabel="share of members", ylim=(0, 1))
    x = np.arange(len(tiers))
    ax_money.bar(x - 0.2, tiers["mean_reward_value"], width=0.4, label="reward value per offer")
    ax_money.bar(x + 0.2, tiers["expected_profit_per_offer"], width=0.4, label="expected profit per offer")
    ax_money.set_xticks(x, tiers["group"])
    ax_money.set(title="Per issued offer, by tier", ylabel="money")
    ax_money.legend(fontsize=8)
    top = reasons.head(8).iloc[::-1]
    ax_reason.barh(top["reason_code"], top["members"], color="tab:red")
    ax_reason.set(title="Withheld, by reason", xlabel="members")
    ax_reason.tick_params(axis="y", labelsize=8)
    fig.tight_layout()
    return fig


def build(data: ReportData, cutoff: int, config: ReportsConfig) -> Report:
    """Offers issued and withheld, expected cost and profit, reward value, overall and per group."""
    rows, first_week, notes = offer_rows(data, config)
    unknown = config.groups.unknown
    groups = by_group(rows, unknown)
    reasons = withheld_by_reason(rows, unknown)
    weeks = sorted(int(w) for w in rows["week"].unique())
    summary: dict[str, float | int | str | None] = {"weeks": ", ".join(map(str, weeks))}
    summary.update(_summary(rows))
    summary["members"] = int(rows[MEMBER_ID].nunique())
    summary.update(provenance(data.challenges if data.challenges is not None else rows))
    return Report(
        name=NAME,
        title="Offer economics",
        cutoff=first_week,
        about=(
            "From a saved `offers challenges` file (the weekly batch with the rules in force), one row "
            "per member and week. `issue_rate` = issued / members; `reward_value` = the reward's cash "
            "cost if completed (face value); `expected_reward_cost` = reward cost x P(complete | offer); "
            "`expected_profit` = the rules' expected incremental profit (the `offers rules preview` "
            "definitions, summed over issued challenges). `completion_rate`: share of issued challenges "
            "completed in the window with no offer shown (the backtest's measure); "
            "`realised_reward_cost` = what those completions would have cost. Groups are those of "
            "`member_groups` at the challenge week."
        ),
        numbers=summary,
        tables={"by_group": groups, "withheld_by_reason": reasons},
        figures={"offer_economics": _figure(groups, reasons)},
        notes=notes,
    )
