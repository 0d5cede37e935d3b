"""Replay simulator: the whole loop (assign, serve, events, analyse) over held-out weeks of real data.

Each simulated week, every member is assigned (sticky) and exposed: treatment arms get their policy's
challenge, the holdout gets an explicit no-offer carrying the recommender's challenge as a shadow.
The member's real purchases of that week are replayed as events, plus a behavioural response: members
who respond (a ``1 - ignore_share`` share, drawn once per member) buy each pick they would not have
bought anyway with probability ``lift``. The injected purchases are the ground truth: their spend and
margin per member, minus the rewards paid, is the true effect the analysis must recover.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.data.schema import CATEGORY, ITEM_ID, MEMBER_ID, PRICE, QUANTITY, SALES_VALUE, TIER, WEEK, Dataset
from engine.errors import ExperimentError
from engine.experiments.analysis import AnalysisResult, analyze
from engine.experiments.assignment import assign_arm, targets
from engine.experiments.config import AnalysisConfig, SimulationConfig
from engine.experiments.definition import ExperimentDefinition
from engine.experiments.events import PurchaseEvent
from engine.experiments.frame import member_frame
from engine.experiments.policies import Offers, Policy
from engine.experiments.protocol import EventStore
from engine.experiments.service import record_exposure

#: The policy whose challenges the holdout carries as shadows (and whose pick lift is measured).
SHADOW_POLICY = "recommender"


@dataclass(frozen=True)
class Truth:
    """What the simulation injected into one treatment arm, per exposed member."""

    arm: str
    members: int
    injected_purchases: int
    spend_effect: float
    margin_effect: float
    net_profit_effect: float


@dataclass(frozen=True)
class RecoveredLift:
    """The ``lift`` parameter read back from the measured pick rates: diff / ((1 - base) * respond share)."""

    arm: str
    kind: str
    injected: float
    estimate: float
    ci_low: float
    ci_high: float

    @property
    def covered(self) -> bool:
        """Whether the interval holds the injected lift."""
        return self.ci_low <= self.injected <= self.ci_high


@dataclass(frozen=True)
class SimulationResult:
    """The analysis of the simulated experiment next to the truth it should recover."""

    definition: ExperimentDefinition
    weeks: tuple[int, ...]
    analysis: AnalysisResult
    truth: tuple[Truth, ...]
    lifts: tuple[RecoveredLift, ...]
    #: The per-member outcome table the analysis ran on.
    frame: pd.DataFrame

    def coverage(self) -> dict[str, bool]:
        """Per arm and metric (primary method): whether the CI holds the true effect."""
        out: dict[str, bool] = {}
        for t in self.truth:
            for metric, value in (
                ("spend_per_member", t.spend_effect),
                ("net_profit_per_member", t.net_profit_effect),
            ):
                est = self.analysis.comparison(metric, t.arm).estimate
                out[f"{t.arm}.{metric}"] = est.ci_low <= value <= est.ci_high
        for lift in self.lifts:
            out[f"{lift.arm}.{lift.kind}_lift"] = lift.covered
        return out


def held_out_weeks(dataset: Dataset, n: int) -> tuple[int, ...]:
    """The last ``n`` weeks of the data."""
    last = dataset.n_weeks
    if n >= last:
        raise ExperimentError(f"cannot hold out {n} weeks of a {last}-week data set: no history would remain")
    return tuple(range(last - n + 1, last + 1))


def _purchases(tx: pd.DataFrame, week: int, category_of: pd.Series) -> list[PurchaseEvent]:
    """The week's real purchases as events, each with its item's category (as serving resolves it)."""
    rows = tx[[MEMBER_ID, ITEM_ID, QUANTITY, SALES_VALUE]].itertuples(index=False)
    return [
        PurchaseEvent(
            event_id=f"tx-{week}-{i}",
            member_id=str(m),
            item_id=str(item),
            week=week,
            quantity=q,
            sales_value=v,
            category=_category(category_of, str(item)),
        )
        for i, (m, item, q, v) in enumerate(rows)
    ]


def _category(category_of: pd.Series, item: str) -> str | None:
    value = category_of.get(item)
    return value if isinstance(value, str) and value else None


def simulate(
    dataset: Dataset,
    definition: ExperimentDefinition,
    policies: Mapping[str, Policy],
    weeks: Sequence[int],
    response: SimulationConfig,
    store: EventStore,
    analysis: AnalysisConfig,
) -> SimulationResult:
    """Run the experiment over ``weeks`` of ``dataset`` and analyse it.

    Parameters
    ----------
    policies
        Challenge policy per policy name used by the definition's arms (holdout needs none; the
        ``recommender`` policy, when present, also makes the holdout's shadow challenges).
    weeks
        Consecutive weeks to replay; the definition's weeks are replaced by them.
    response
        ``lift``, ``ignore_share`` and ``seed`` of the behavioural response.
    store
        An empty event store the simulation writes into.
    """
    weeks = tuple(sorted(weeks))
    missing = sorted({a.policy for a in definition.arms if a.policy != "holdout"} - set(policies))
    if missing:
        raise ExperimentError(f"simulation of {definition.name!r}: no policy given for {missing}")
    sim = definition.model_copy(update={"start_week": weeks[0], "end_week": weeks[-1]})
    tx = dataset.transactions
    tier_of = dict(zip(dataset.members[MEMBER_ID].astype(str), dataset.members[TIER], strict=True))
    active = sorted({str(m) for m in tx.loc[tx[WEEK] < weeks[0], MEMBER_ID].unique()})
    # Only the experiment's population (tiers, namespace range) is assigned and exposed.
    members = [m for m in active if targets(sim, m, tier_of.get(m))]
    if not members:
        raise ExperimentError(
            f"simulation: no member of {definition.name!r}'s population bought before week {weeks[0]}"
        )
    arm_of = {m: assign_arm(sim, m) for m in members}
    policy_of = {a.name: a.policy for a in sim.arms}
    rng = np.random.default_rng(response.seed)
    responders = {
        m for m, u in zip(members, rng.random(len(members)), strict=True) if u >= response.ignore_share
    }
    price = pd.Series(
        dataset.catalog[PRICE].to_numpy(dtype="float64"),
        index=dataset.catalog[ITEM_ID].astype(str).to_numpy(),
    )
    category_of = pd.Series(
        dataset.catalog[CATEGORY].to_numpy(), index=dataset.catalog[ITEM_ID].astype(str).to_numpy()
    )
    injected: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])  # count, spend, margin
    unit_margin = price * pd.Series(
        dataset.catalog["margin_rate"].to_numpy(dtype="float64"), index=price.index
    )
    for week in weeks:
        history = dataset.before_week(week)
        offers: dict[str, Offers] = {}
        for name, policy in policies.items():
            wanted = [
                m
                for m in members
                if policy_of[arm_of[m]] == name
                or (name == SHADOW_POLICY and policy_of[arm_of[m]] == "holdout")
            ]
            offers[name] = policy(history, week, wanted) if wanted else {}
        week_tx = tx[(tx[WEEK] == week) & tx[MEMBER_ID].astype(str).isin(set(members))]
        natural = week_tx.assign(m=week_tx[MEMBER_ID].astype(str), i=week_tx[ITEM_ID].astype(str))
        bought = natural.groupby("m")["i"].agg(set).to_dict()
        events = _purchases(week_tx, week, category_of)
        for m in members:
            arm_name = arm_of[m]
            kind = policy_of[arm_name]
            if kind == "holdout":
                shadow = offers.get(SHADOW_POLICY, {}).get(m)
                record_exposure(
                    store, sim, arm_name, m, week, None, shadow=shadow, event_id=f"sim-exp-{m}-{week}"
                )
                continue
            challenge = offers[kind].get(m)
            record_exposure(store, sim, arm_name, m, week, challenge, event_id=f"sim-exp-{m}-{week}")
            if challenge is None:
                continue
            draws = rng.random(len(challenge.item_ids))
            for item, u in zip(challenge.item_ids, draws, strict=True):
                if m in responders and item not in bought.get(m, set()) and u < response.lift:
                    events.append(
                        PurchaseEvent(
                            event_id=f"sim-{m}-{week}-{item}",
                            member_id=m,
                            item_id=item,
                            week=week,
                            quantity=1.0,
                            sales_value=float(price[item]),
                            category=_category(category_of, item),
                        )
                    )
                    totals = injected[arm_name]
                    totals[0] += 1
                    totals[1] += float(price[item])
                    totals[2] += float(unit_margin[item])
        store.add_purchases(events)
    pre_weeks = analysis.pre_period_weeks
    pre = tx[(tx[WEEK] < weeks[0]) & (tx[WEEK] >= weeks[0] - pre_weeks)]
    pre_spend = pre.groupby(pre[MEMBER_ID].astype(str))[SALES_VALUE].sum()
    frame = member_frame(store, sim, dataset.catalog, pre_weeks, pre_spend)
    result = analyze(frame, sim, analysis)
    truth = []
    for arm in sim.arms:
        if arm.name == result.control:
            continue
        rows = frame[frame["arm"] == arm.name]
        n = max(len(rows), 1)
        count, spend, margin = injected[arm.name]
        reward = float(rows["reward_cost"].sum()) / n
        truth.append(Truth(arm.name, len(rows), int(count), spend / n, margin / n, margin / n - reward))
    respond_share = 1.0 - response.ignore_share
    lifts = []
    for lift in result.lifts:
        scale = (1.0 - lift.rate_base) * respond_share
        if scale <= 0:
            continue
        est = lift.absolute
        lifts.append(
            RecoveredLift(
                lift.arm, lift.kind, response.lift, est.diff / scale, est.ci_low / scale, est.ci_high / scale
            )
        )
    return SimulationResult(sim, weeks, result, tuple(truth), tuple(lifts), frame)
