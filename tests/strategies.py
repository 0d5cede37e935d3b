"""Hand-built candidate artifacts and hypothesis strategies for the rules and challenge tests.

Everything is built from :mod:`engine.artifact` dataclasses directly, so these tests never depend on
training.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from hypothesis import strategies as st

from engine.artifact import CandidateArtifact, Manifest
from engine.candidates import Catalog, HabitualCandidate, ItemInfo, MemberCandidates, StretchCandidate
from engine.challenge import MemberHistory
from engine.data.schema import TIERS
from engine.rules.config import RulesConfig, parse_rules

DEPARTMENTS = ("GROCERY", "PRODUCE", "DELI", "FUEL", "GARDEN CENTER")
CATEGORIES = tuple(f"CAT{k}" for k in range(12))


def lift_entry(kind: str, log_odds: float, std_error: float = 0.0, **kw: Any) -> dict[str, Any]:
    """One lift-file entry with its provenance filled in."""
    return {
        "kind": kind,
        "department": kw.get("department", "*"),
        "log_odds": log_odds,
        "std_error": std_error,
        "ci_low": log_odds - 2 * std_error,
        "ci_high": log_odds + 2 * std_error,
        "n": 100,
        "status": kw.get("status", "estimated"),
        "source": "test",
        "method": "test",
        "estimated_on": "2026-12-01",
    }


def lifts_dict(habitual: float, stretch: float, std_error: float = 0.0, **kw: Any) -> dict[str, Any]:
    """A lift file with one ``*`` estimate per pick kind (log odds ratios)."""
    return {
        "lift": [
            lift_entry("habitual", habitual, std_error, **kw),
            lift_entry("stretch", stretch, std_error, **kw),
        ]
    }


def rules_dict(**overrides: Any) -> dict[str, Any]:
    """A valid rules mapping; ``overrides`` replace whole top-level sections."""
    base: dict[str, Any] = {
        "eligibility": {
            "excluded_departments": ["FUEL"],
            "excluded_categories": [],
            "excluded_item_ids": [],
            "min_margin_rate": 0.05,
            "recency": {
                "durable_departments": ["GARDEN CENTER"],
                "durable_categories": [],
                "durable_weeks": 10,
                "stretch_repeat_weeks": 4,
            },
        },
        "hard_guard": {"max_reward_share": 0.5},
        "economic_guard": {"min_expected_profit": 0.0, "lifts": lifts_dict(0.2, 0.5)},
        "tiers": {
            "bronze": {"stars": 25, "cash_per_star": 0.02},
            "silver": {"stars": 30, "cash_per_star": 0.02},
            "gold": {"stars": 50, "cash_per_star": 0.02, "min_weeks_between_offers": 2},
            "diamond": {"stars": 75, "cash_per_star": 0.02, "min_weeks_between_offers": 3},
        },
        "budget": {"weekly_expected_cost": None},
    }
    base.update(overrides)
    base["budget"] = {k: v for k, v in base["budget"].items() if v is not None}
    return base


def make_rules(**overrides: Any) -> RulesConfig:
    """Validated :class:`RulesConfig` from :func:`rules_dict`."""
    return parse_rules(rules_dict(**overrides), "<test>")


def item(item_id: int, category: str, price: float = 3.0, margin_rate: float = 0.3, **kw: Any) -> ItemInfo:
    """One catalog item with sensible defaults."""
    return ItemInfo(
        item_id=item_id,
        name=kw.get("name", f"item{item_id}"),
        category=category,
        department=kw.get("department", "GROCERY"),
        price=price,
        margin_rate=margin_rate,
        excluded=kw.get("excluded", False),
        repeat_margin=kw.get("repeat_margin", 0.0),
        adopter_spend=kw.get("adopter_spend", math.nan),
    )


def artifact_from(
    items: list[ItemInfo], members: list[MemberCandidates], version: str = "m1"
) -> CandidateArtifact:
    """An in-memory artifact holding exactly ``items`` and ``members``."""
    habitual = [
        (m.member_id, c.item_id, c.score, c.n_baskets, c.last_week, r + 1)
        for m in members
        for r, c in enumerate(m.habitual)
    ]
    stretch = [
        (m.member_id, c.category, c.score, c.suggested_item_id, c.expected_margin, r + 1)
        for m in members
        for r, c in enumerate(m.stretch)
    ]
    cats = [(m.member_id, c) for m in members for c in sorted(m.bought_categories)]
    top, last = items[:3], items[-1]
    loyalty = [(m.member_id, m.stage, ",".join(m.segments), "t") for m in members if m.stage is not None]
    return CandidateArtifact(
        manifest=Manifest(version, 10, 10, "2026-01-01T00:00:00Z", "test"),
        habitual=pd.DataFrame(
            habitual, columns=["member_id", "item_id", "score", "n_baskets", "last_week", "rank"]
        ).astype({"member_id": "int64", "item_id": "int64", "last_week": "float64"}),
        stretch=pd.DataFrame(
            stretch,
            columns=["member_id", "category", "score", "suggested_item_id", "expected_margin", "rank"],
        ).astype({"member_id": "int64", "suggested_item_id": "int64"}),
        items=pd.DataFrame([i.to_dict() for i in items]),
        members=pd.DataFrame(
            {
                "member_id": [m.member_id for m in members],
                "tier": [m.tier for m in members],
                "spend_52w": [100.0] * len(members),
                "last_week": [9] * len(members),
            }
        ),
        member_categories=pd.DataFrame(cats, columns=["member_id", "category"]).astype(
            {"member_id": "int64"}
        ),
        popular_items=pd.DataFrame(
            {
                "item_id": [i.item_id for i in top],
                "score": [0.3, 0.2, 0.1][: len(top)],
                "rank": range(1, len(top) + 1),
            }
        ),
        popular_categories=pd.DataFrame(
            {"category": [last.category], "score": [0.05], "suggested_item_id": [last.item_id], "rank": [1]}
        ),
        member_loyalty=pd.DataFrame(loyalty, columns=["member_id", "stage", "segments", "segments_version"]),
    )


# --- hypothesis strategies -------------------------------------------------------------------------

probabilities = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@st.composite
def catalogs(draw: st.DrawFn) -> list[ItemInfo]:
    """10-30 items over a few departments and categories; some excluded, some with missing margins."""
    n = draw(st.integers(min_value=10, max_value=30))
    out = []
    for k in range(n):
        # every seventh item may lack a price or margin: the guards must refuse, never wave through
        odd = k % 7 == 6
        price = draw(st.sampled_from([math.nan, 1.0]) if odd else st.floats(0.2, 20.0))
        margin_rate = draw(st.sampled_from([math.nan, 0.3]) if odd else st.floats(0.0, 0.6))
        out.append(
            ItemInfo(
                item_id=k,
                name=f"item{k}",
                category=draw(st.sampled_from(CATEGORIES)),
                department=draw(st.sampled_from(DEPARTMENTS)),
                price=price,
                margin_rate=margin_rate,
                excluded=draw(st.integers(0, 5)) == 0,
                repeat_margin=draw(st.sampled_from([0.0, 0.5, 3.0, math.nan])),
            )
        )
    return out


@st.composite
def members_for(draw: st.DrawFn, items: list[ItemInfo], n_members: int = 6) -> list[MemberCandidates]:
    """Members whose habitual candidates are drawn from ``items`` and stretch from other categories."""
    out = []
    for m in range(n_members):
        bought_items = draw(
            st.lists(st.sampled_from(items), min_size=3, max_size=8, unique_by=lambda i: i.item_id)
        )
        bought = frozenset(i.category for i in bought_items) | frozenset(
            draw(st.lists(st.sampled_from(CATEGORIES), max_size=2))
        )
        habitual = tuple(
            HabitualCandidate(
                i.item_id,
                draw(st.sampled_from([math.nan, 0.5]) if k == 5 else probabilities),
                draw(st.integers(1, 20)),
                draw(st.one_of(st.none(), st.integers(1, 9))),
            )
            for k, i in enumerate(bought_items)
        )
        fresh = [i for i in items if i.category not in bought]
        picks = draw(st.lists(st.sampled_from(fresh), min_size=1, max_size=5)) if fresh else []
        stretch = tuple(StretchCandidate(i.category, draw(probabilities), i.item_id, 0.0) for i in picks)
        # occasionally a stretch candidate in a category the member bought: the rules must drop it
        if bought_items and draw(st.booleans()):
            i = bought_items[0]
            stretch = (StretchCandidate(i.category, 0.9, i.item_id, 0.0), *stretch)
        out.append(MemberCandidates(m, draw(st.sampled_from(TIERS)), habitual, stretch, bought))
    return out


@st.composite
def random_rules(draw: st.DrawFn) -> RulesConfig:
    """Rules with random guards, lifts, rewards, exclusions and budget."""
    tiers = {
        t: {
            "stars": draw(st.integers(1, 40)),
            "cash_per_star": draw(st.floats(0.001, 0.1)),
            "min_weeks_between_offers": draw(st.integers(1, 4)),
            "min_p_complete": draw(st.sampled_from([0.0, 0.0, 0.001, 0.05])),
        }
        for t in TIERS
    }
    for t in tiers.values():
        if draw(st.booleans()):
            t["min_stars"] = draw(st.integers(1, int(t["stars"])))  # type: ignore[call-overload]
    budget = draw(st.one_of(st.none(), st.floats(0.0, 0.3)))
    trial = draw(st.one_of(st.none(), st.none(), st.floats(0.0, 0.2)))
    return make_rules(
        eligibility={
            "excluded_departments": draw(st.lists(st.sampled_from(DEPARTMENTS), max_size=1)),
            "excluded_categories": draw(st.lists(st.sampled_from(CATEGORIES), max_size=2, unique=True)),
            "excluded_item_ids": draw(st.lists(st.integers(0, 29), max_size=3, unique=True)),
            "min_margin_rate": draw(st.floats(0.0, 0.2)),
            "recency": {
                "durable_departments": ["GARDEN CENTER"],
                "durable_weeks": draw(st.integers(0, 10)),
                "stretch_repeat_weeks": draw(st.integers(0, 6)),
            },
        },
        hard_guard={"max_reward_share": draw(st.floats(0.0, 1.0))},  # 0 forbids every paid reward
        economic_guard={
            "min_expected_profit": draw(st.floats(-0.1, 0.1)),
            # mostly positive lifts: a zero lift refuses every offer (covered by its own tests)
            "lifts": lifts_dict(
                draw(st.floats(-0.2, 1.5)),
                draw(st.floats(-0.2, 2.0)),
                draw(st.floats(0.0, 0.3)),
                status=draw(st.sampled_from(["estimated", "prior", "measured"])),
            ),
            "lift_quantile": draw(st.floats(0.05, 0.95)),
            "count_habit_value": draw(st.booleans()),
        },
        tiers=tiers,
        budget={"weekly_expected_cost": budget, "weekly_trial_cost": trial},
        search={"max_habitual": draw(st.integers(2, 6)), "max_stretch": draw(st.integers(1, 4))},
    )


def catalog_of(items: list[ItemInfo]) -> Catalog:
    """A :class:`Catalog` over ``items``."""
    return Catalog({i.item_id: i for i in items})


@st.composite
def scenarios(
    draw: st.DrawFn, week: int = 10
) -> tuple[list[ItemInfo], list[MemberCandidates], RulesConfig, dict[int | str, MemberHistory]]:
    """A catalog, members over it, rules, and each member's offer history before ``week``."""
    items = draw(catalogs())
    members = draw(members_for(items))
    rules = draw(random_rules())
    history: dict[int | str, MemberHistory] = {}
    for m in members:
        stretch_weeks = draw(
            st.dictionaries(st.sampled_from(CATEGORIES), st.integers(week - 8, week), max_size=4)
        )
        last = draw(st.one_of(st.none(), st.integers(week - 4, week)))
        history[m.member_id] = MemberHistory(stretch_weeks=stretch_weeks, last_offer_week=last)
    return items, members, rules, history
