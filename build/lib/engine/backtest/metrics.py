"""How good a week of challenges was, measured on what members actually bought in the window.

Pure functions on (challenges frame, window transactions, catalog). The challenges frame is the stable
shape of ``offers challenges`` (``member_id, week, habitual_1, habitual_2, stretch_category,
stretch_product, reward_cost, expected_profit, status, reason``), optionally with ``reason_code``,
``expected_cost`` and ``p_complete`` from the :class:`~engine.challenge.Challenge` objects
(see :func:`engine.backtest.challenges.challenge_table`).

:func:`member_outcomes` gives one row per member in scope (active before the cutoff and seen in the
window), so policies can be compared member by member; :func:`summarize` turns it into rates.
:func:`ranking_outcomes` measures a policy's stretch ranking alone, before the rules pick among it.

Definitions (all over members in scope who were issued a challenge, unless said otherwise)
    habitual_hit_rate     mean over both habitual picks of "bought that product in the window"
    habitual_both_rate    share buying both habitual products
    stretch_adoption      share buying anything in the stretch category (never bought before the cutoff)
    stretch_value         margin earned in the stretch category per member (0 when not adopted)
    stretch_product_hit   share buying the suggested stretch product itself
    completion_rate       share buying both habitual products and in the stretch category
    coverage              issued / in scope; members in scope without an offer are counted by reason
    expected_cost         the rules' expected reward cost: reward cash cost x P(complete | offer)
    realised_reward_cost  reward cost of challenges completed in the window although no offer was shown:
                          the subsidy paid for purchases that happen anyway (a lower bound of the cost
                          once the offer itself lifts completion)
    incremental_profit    the rules' assumed incremental margin (expected_profit + expected_cost, i.e.
                          unit margin x configured lift over the three picks) - realised reward cost
    stretch_top1_adoption share, over members in scope with at least one stretch candidate in the
                          artifact (not only those issued a challenge), buying anything in the category
                          of their rank-1 stretch candidate: the ranking alone, before the rules
    stretch_top1_members  how many members stretch_top1_adoption is measured over
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from engine.challenge import FRAME_COLUMNS
from engine.data.schema import CATEGORY, ITEM_ID, MARGIN_RATE, MEMBER_ID, SALES_VALUE
from engine.errors import DataValidationError

ISSUED = "issued"
#: Reason recorded for a member in scope for whom the policy produced no row at all.
NOT_IN_BATCH = "not_in_batch"

#: The challenge frame columns the metrics read: the stable file shape of ``offers challenges``.
CHALLENGE_COLUMNS: tuple[str, ...] = FRAME_COLUMNS

#: Per-member outcome columns that are averaged into rates (NaN for members without an offer).
OUTCOME_METRICS: tuple[str, ...] = (
    "habitual_hit_rate",
    "habitual_both_rate",
    "stretch_adoption",
    "stretch_value",
    "stretch_product_hit",
    "completion_rate",
    "reward_cost",
    "expected_cost",
    "realised_reward_cost",
    "p_complete",
    "expected_profit",
    "incremental_profit",
)


def members_in_scope(train_transactions: pd.DataFrame, window_transactions: pd.DataFrame) -> pd.Index:
    """Members active before the cutoff and seen in the window, sorted."""
    before = pd.Index(pd.unique(train_transactions[MEMBER_ID]))
    seen = pd.Index(pd.unique(window_transactions[MEMBER_ID]))
    return before.intersection(seen).sort_values()


def _number(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A numeric column as float64, or all NaN when the frame does not carry it."""
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype="float64")


def _bought(frame: pd.DataFrame, member: pd.Series, key: pd.Series, column: str) -> np.ndarray:
    """For each (member, key) pair, whether ``frame`` has a row with that member and ``column``."""
    have = pd.MultiIndex.from_frame(frame[[MEMBER_ID, column]].drop_duplicates())
    asked = pd.MultiIndex.from_arrays([member.to_numpy(), key.to_numpy()])
    return np.asarray(asked.isin(have), dtype="float64")


def member_outcomes(
    challenges: pd.DataFrame,
    window_transactions: pd.DataFrame,
    catalog: pd.DataFrame,
    scope: pd.Index,
) -> pd.DataFrame:
    """One row per member in ``scope``: was an offer issued, and what happened in the window.

    Parameters
    ----------
    challenges
        The challenges frame (see module docstring); members outside ``scope`` are ignored.
    window_transactions
        Canonical transactions of the challenge window only.
    catalog
        Canonical catalog (category, price and margin rate per item).
    scope
        Members in scope.

    Returns
    -------
    pandas.DataFrame
        ``member_id``, ``issued``, ``reason``, ``stretch_category`` and the :data:`OUTCOME_METRICS`
        columns (NaN where no offer was issued).
    """
    missing = [c for c in CHALLENGE_COLUMNS if c not in challenges.columns]
    if missing:
        raise DataValidationError(f"challenges frame: missing columns {missing}")
    frame = challenges[challenges[MEMBER_ID].isin(scope)].drop_duplicates(MEMBER_ID)
    issued = frame[frame["status"] == ISSUED].reset_index(drop=True)

    info = catalog.set_index(ITEM_ID)
    margin_rate = pd.to_numeric(info[MARGIN_RATE], errors="coerce")
    tx = window_transactions.join(info[[CATEGORY]], on=ITEM_ID)
    tx = tx.assign(margin=tx[SALES_VALUE] * tx[ITEM_ID].map(margin_rate).fillna(0.0))

    member = issued[MEMBER_ID]
    h1 = _bought(tx, member, issued["habitual_1"], ITEM_ID)
    h2 = _bought(tx, member, issued["habitual_2"], ITEM_ID)
    adopted = _bought(tx, member, issued["stretch_category"], CATEGORY)
    product = _bought(tx, member, issued["stretch_product"], ITEM_ID)
    earned = tx.groupby([MEMBER_ID, CATEGORY], sort=False)["margin"].sum()
    keys = pd.MultiIndex.from_arrays([member.to_numpy(), issued["stretch_category"].to_numpy()])
    value = earned.reindex(keys).fillna(0.0).to_numpy(dtype="float64")
    completed = h1 * h2 * adopted

    reward = _number(issued, "reward_cost")
    expected_profit = _number(issued, "expected_profit")
    expected_cost = _number(issued, "expected_cost")
    realised_cost = reward * completed
    outcome = pd.DataFrame(
        {
            MEMBER_ID: member.to_numpy(),
            "habitual_hit_rate": (h1 + h2) / 2.0,
            "habitual_both_rate": h1 * h2,
            "stretch_adoption": adopted,
            "stretch_value": value,
            "stretch_product_hit": product,
            "completion_rate": completed,
            "reward_cost": reward,
            "expected_cost": expected_cost,
            "realised_reward_cost": realised_cost,
            "p_complete": _number(issued, "p_complete"),
            "expected_profit": expected_profit,
            # the rules' assumed incremental margin (profit + cost) less what completions really cost
            "incremental_profit": expected_profit + expected_cost - realised_cost,
        }
    )

    base = pd.DataFrame({MEMBER_ID: scope.to_numpy()})
    reasons = frame.set_index(MEMBER_ID)
    base["issued"] = base[MEMBER_ID].map(reasons["status"] == ISSUED).fillna(False).astype(bool)
    reason_column = "reason_code" if "reason_code" in reasons.columns else "reason"
    base["reason"] = base[MEMBER_ID].map(reasons[reason_column]).astype(object)
    base.loc[~base[MEMBER_ID].isin(reasons.index), "reason"] = NOT_IN_BATCH
    base.loc[base["issued"], "reason"] = ISSUED
    base["stretch_category"] = base[MEMBER_ID].map(issued.set_index(MEMBER_ID)["stretch_category"])
    return base.merge(outcome, on=MEMBER_ID, how="left")


def ranking_outcomes(
    artifact_stretch: pd.DataFrame,
    window_transactions: pd.DataFrame,
    catalog: pd.DataFrame,
    scope: pd.Index,
) -> dict[str, float]:
    """How good a policy's stretch ranking is on its own, before the rules pick among the candidates.

    The rules take the stretch category with the highest margin x probability among the first few
    eligible candidates, so ``stretch_adoption`` mixes ranking quality with how the list meets the
    rules; this looks only at each member's rank-1 candidate.

    Parameters
    ----------
    artifact_stretch
        The artifact's ``stretch`` table (``member_id``, ``category``, ``rank`` with 1 = best; other
        columns are ignored). A member's best candidate is the row with the lowest rank.
    window_transactions
        Canonical transactions of the challenge window only.
    catalog
        Canonical catalog; gives each window purchase its category.
    scope
        Members in scope (see :func:`members_in_scope`).

    Returns
    -------
    dict
        ``stretch_top1_adoption`` (NaN when no member in scope has a candidate) and
        ``stretch_top1_members``.
    """
    missing = [c for c in (MEMBER_ID, CATEGORY, "rank") if c not in artifact_stretch.columns]
    if missing:
        raise DataValidationError(f"stretch candidates: missing columns {missing}")
    candidates = artifact_stretch[artifact_stretch[MEMBER_ID].isin(scope)]
    best = candidates.sort_values([MEMBER_ID, "rank"], kind="mergesort").drop_duplicates(MEMBER_ID)
    tx = window_transactions.join(catalog.set_index(ITEM_ID)[[CATEGORY]], on=ITEM_ID)
    adopted = _bought(tx, best[MEMBER_ID], best[CATEGORY], CATEGORY)
    return {
        "stretch_top1_adoption": float(adopted.mean()) if len(adopted) else math.nan,
        "stretch_top1_members": float(len(adopted)),
    }


def gini(counts: np.ndarray) -> float:
    """Gini coefficient of non-negative counts (0 = perfectly even, towards 1 = all in one)."""
    values = np.sort(np.asarray(counts, dtype="float64"))
    n = len(values)
    if n == 0 or values.sum() == 0:
        return math.nan
    cum = np.cumsum(values)
    return float((n + 1 - 2 * (cum / cum[-1]).sum()) / n)


def entropy_bits(counts: np.ndarray) -> float:
    """Shannon entropy (bits) of the distribution given by ``counts``."""
    values = np.asarray(counts, dtype="float64")
    total = values.sum()
    if total == 0:
        return math.nan
    p = values[values > 0] / total
    return float(-(p * np.log2(p)).sum())


def summarize(outcomes: pd.DataFrame) -> dict[str, float]:
    """Rates, money and diversity from :func:`member_outcomes` (one policy, one cutoff, one window).

    Returns
    -------
    dict
        ``n_scope``, ``n_issued``, ``coverage``, the mean of each :data:`OUTCOME_METRICS` column over
        issued members, totals ``*_total`` of the money columns, and stretch diversity
        (``stretch_distinct``, ``stretch_gini``, ``stretch_entropy_bits``).
    """
    issued = outcomes[outcomes["issued"]]
    n_scope = len(outcomes)
    out: dict[str, float] = {
        "n_scope": float(n_scope),
        "n_issued": float(len(issued)),
        "coverage": len(issued) / n_scope if n_scope else math.nan,
    }
    for column in OUTCOME_METRICS:
        out[column] = float(issued[column].mean()) if len(issued) else math.nan
    for column in (
        "reward_cost",
        "expected_cost",
        "realised_reward_cost",
        "expected_profit",
        "incremental_profit",
    ):
        out[f"{column}_total"] = float(issued[column].sum())
    counts = issued["stretch_category"].value_counts().to_numpy()
    out["stretch_distinct"] = float(len(counts))
    out["stretch_gini"] = gini(counts)
    out["stretch_entropy_bits"] = entropy_bits(counts)
    return out


def no_offer_reasons(outcomes: pd.DataFrame) -> dict[str, int]:
    """Members in scope without an offer, counted by reason (most frequent first)."""
    reasons = outcomes.loc[~outcomes["issued"], "reason"].fillna("unknown").astype(str)
    return {str(k): int(v) for k, v in reasons.value_counts().items()}
