"""One row per exposed member: the outcomes the analysis compares between arms, read from the store.

Columns: ``member_id, arm, exposures, challenges, completions, spend, gross_margin, reward_cost,
net_profit, opted_out, pre_spend, habitual_offered, habitual_bought, stretch_offered, stretch_bought``.

``opted_out`` is 1 for a member who sent a negative signal (opt-out, unsubscribe, blocked
notifications) in the experiment's weeks: the ``opt_out_rate`` guardrail.
Outcomes count every purchase of the member in the experiment's weeks (intention to treat: all the
member's spend, not just the picks). Gross margin is ``quantity x price x margin_rate`` from the
catalog; net profit subtracts the rewards issued. Pick counts use the shown challenge, or for the
holdout the shadow challenge it would have had; pick order is habitual, habitual, stretch. A habitual
pick is bought when its product is; the stretch pick is a category, bought when any product of it (by
the catalog's ``category``) is bought in the week, as the event stores count progress (a challenge
stored without a category counts its suggested product only).
"""

from __future__ import annotations

import json

import pandas as pd

from engine.data.schema import CATEGORY, ITEM_ID, MARGIN_RATE, PRICE
from engine.errors import ExperimentError
from engine.experiments.definition import ExperimentDefinition
from engine.experiments.events import NEGATIVE_KINDS
from engine.experiments.protocol import EventStore

#: Positions of the picks in a challenge's item list: two habitual, then the stretch.
_HABITUAL_POSITIONS = (0, 1)

FRAME_COLUMNS: tuple[str, ...] = (
    "member_id",
    "arm",
    "exposures",
    "challenges",
    "completions",
    "spend",
    "gross_margin",
    "reward_cost",
    "net_profit",
    "opted_out",
    "pre_spend",
    "habitual_offered",
    "habitual_bought",
    "stretch_offered",
    "stretch_bought",
)


def _unit_margins(catalog: pd.DataFrame) -> pd.Series:
    missing = [c for c in (ITEM_ID, PRICE, MARGIN_RATE) if c not in catalog.columns]
    if missing:
        raise ExperimentError(f"catalog: missing columns {missing} needed for gross margin")
    margins = catalog[PRICE].astype("float64") * catalog[MARGIN_RATE].astype("float64")
    return pd.Series(margins.to_numpy(), index=catalog[ITEM_ID].astype(str).to_numpy(), name="unit_margin")


def _in_weeks(frame: pd.DataFrame, first: int, last: int) -> pd.DataFrame:
    return frame[(frame["week"] >= first) & (frame["week"] <= last)]


def _ours(frame: pd.DataFrame, definition: ExperimentDefinition) -> pd.DataFrame:
    d = definition
    mine = (frame["experiment"] == d.name) & (frame["salt"] == d.salt)
    return _in_weeks(frame[mine], d.start_week, d.end_week)


def _exposed(store: EventStore, definition: ExperimentDefinition) -> pd.DataFrame:
    events = _ours(store.table("exposures"), definition)
    exposed = events.groupby(["member_id", "arm"]).size().rename("exposures").reset_index()
    twice = exposed["member_id"][exposed["member_id"].duplicated()]
    if len(twice):
        raise ExperimentError(
            f"experiment {definition.name!r}: {len(twice)} member(s) exposed in more than one arm "
            f"(e.g. {list(twice[:5])}); the event data is inconsistent with sticky assignment"
        )
    unknown = sorted(set(exposed["arm"]) - set(definition.arm_names))
    if unknown:
        raise ExperimentError(f"experiment {definition.name!r}: exposures in unknown arm(s) {unknown}")
    return exposed


def _category_of(catalog: pd.DataFrame, challenges: pd.DataFrame) -> pd.Series:
    """Category by item id (text), needed when a challenge's stretch pick is a category."""
    if CATEGORY in catalog.columns:
        return pd.Series(
            catalog[CATEGORY].to_numpy(), index=catalog[ITEM_ID].astype(str).to_numpy(), name=CATEGORY
        )
    if challenges["stretch_category"].notna().any():
        raise ExperimentError(
            f"catalog: missing column {CATEGORY!r}, needed to count the stretch pick (a category: any "
            "product of it counts)"
        )
    return pd.Series(dtype=object, name=CATEGORY)


def _pick_counts(challenges: pd.DataFrame, bought: pd.DataFrame, category_of: pd.Series) -> pd.DataFrame:
    """Per member: habitual/stretch picks offered (or shadowed) and bought in their week.

    ``bought`` has ``member_id, week, item_id``; ``category_of`` maps item ids to categories.
    """
    rows = []
    columns = ["member_id", "week", "item_ids", "stretch_category"]
    for member, week, items_json, category in challenges[columns].itertuples(index=False):
        if not isinstance(items_json, str):  # a no-offer (NULL, read back as None or NaN)
            continue
        stretch = category if isinstance(category, str) else None
        for pos, item in enumerate(json.loads(items_json)):
            kind = "habitual" if pos in _HABITUAL_POSITIONS else "stretch"
            rows.append((member, week, str(item), kind, stretch if kind == "stretch" else None))
    picks = pd.DataFrame(rows, columns=["member_id", "week", "item_id", "kind", "category"])
    if picks.empty:
        columns = [f"{k}_{c}" for k in ("habitual", "stretch") for c in ("offered", "bought")]
        return pd.DataFrame(columns=["member_id", *columns])
    keys = ["member_id", "week"]
    items = bought[[*keys, "item_id"]].drop_duplicates().assign(exact=1)
    picks = picks.merge(items, on=[*keys, "item_id"], how="left")
    categories = bought.assign(category=bought["item_id"].map(category_of))[[*keys, "category"]]
    categories = categories.dropna().drop_duplicates().assign(in_category=1)
    picks = picks.merge(categories, on=[*keys, "category"], how="left")
    picks["bought"] = (picks["exact"].fillna(0) + picks["in_category"].fillna(0)).clip(upper=1)
    counts = picks.pivot_table(index="member_id", columns="kind", values="bought", aggfunc=["count", "sum"])
    out = pd.DataFrame(index=counts.index)
    for kind in ("habitual", "stretch"):
        out[f"{kind}_offered"] = counts.get(("count", kind), 0)
        out[f"{kind}_bought"] = counts.get(("sum", kind), 0)
    return out.reset_index()


def member_frame(
    store: EventStore,
    definition: ExperimentDefinition,
    catalog: pd.DataFrame,
    pre_period_weeks: int,
    pre_spend: pd.Series | None = None,
) -> pd.DataFrame:
    """Build the per-member outcome table of ``definition`` from the events in ``store``.

    Parameters
    ----------
    catalog
        Items with ``price`` and ``margin_rate`` (the Dataset's catalog).
    pre_period_weeks
        Weeks before ``start_week`` whose purchases in the store give the CUPED covariate.
    pre_spend
        Pre-period spend by member id (as text); replaces the store's pre-period purchases when given.
    """
    exposed = _exposed(store, definition)
    if exposed.empty:
        raise ExperimentError(f"experiment {definition.name!r}: no exposures recorded yet")
    members = set(exposed["member_id"])
    d = definition
    purchases = _in_weeks(store.table("purchases"), d.start_week - pre_period_weeks, d.end_week)
    purchases = purchases[purchases["member_id"].isin(members)]
    during = purchases[purchases["week"] >= d.start_week]
    unit_margin = _unit_margins(catalog)
    unknown = sorted(set(during["item_id"]) - set(unit_margin.index))
    if unknown:
        raise ExperimentError(
            f"experiment {d.name!r}: {len(unknown)} purchased item(s) not in the catalog, e.g. {unknown[:5]}"
        )
    during = during.assign(margin=during["quantity"] * during["item_id"].map(unit_margin))
    money = during.groupby("member_id").agg(spend=("sales_value", "sum"), gross_margin=("margin", "sum"))

    challenges = _ours(store.table("challenges"), d)
    shown = challenges[challenges["shown"] == 1].groupby("member_id").size().rename("challenges")
    # A reward belongs to this experiment through the challenge it completed.
    rewards = store.table("rewards").merge(challenges[["member_id", "week"]], on=["member_id", "week"])
    rewards = rewards.groupby("member_id").agg(
        completions=("reward_cost", "size"), reward_cost=("reward_cost", "sum")
    )
    opted = _in_weeks(store.table("opt_outs"), d.start_week, d.end_week)
    # The guardrail counts negative signals; an opt-in (or a row from before kinds existed) is no harm.
    opted = opted[opted["kind"].isin(NEGATIVE_KINDS) | opted["kind"].isna()]
    bought = during[["member_id", "week", "item_id"]].drop_duplicates()
    picks = _pick_counts(challenges, bought, _category_of(catalog, challenges)).set_index("member_id")

    frame = exposed.set_index("member_id")
    frame = frame.join(shown).join(rewards).join(money).join(picks)
    if pre_spend is None:
        before = purchases[purchases["week"] < d.start_week]
        pre_spend = before.groupby("member_id")["sales_value"].sum()
    pre = pd.Series(pre_spend.to_numpy(), index=pre_spend.index.astype(str), dtype="float64")
    frame["pre_spend"] = pre.reindex(frame.index)
    frame = frame.fillna(0.0)
    frame["opted_out"] = frame.index.isin(set(opted["member_id"])).astype("float64")
    frame["net_profit"] = frame["gross_margin"] - frame["reward_cost"]
    return frame.reset_index().loc[:, list(FRAME_COLUMNS)]
