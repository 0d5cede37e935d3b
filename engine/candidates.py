"""A per-member view of the candidate artifact: what the rules and the challenge assembly work on.

The artifact (:mod:`engine.artifact`) stores candidates as long tables; rules and serving want one
record per member. :func:`iter_member_candidates` groups the tables once with numpy (no per-member
pandas filtering, so it stays fast for millions of members), and every record serialises to a compact
dict / JSON form so that the serving store can keep one record per member.

Ids keep their source type (``int`` for Complete Journey, ``str`` elsewhere).
"""

from __future__ import annotations

import gc
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import KW_ONLY, dataclass
from typing import Any, NamedTuple

import numpy as np
import orjson
import pandas as pd

from engine.artifact import OPTIONAL_COLUMNS, CandidateArtifact
from engine.data.schema import (
    CATALOG_COLUMNS,
    CATEGORY,
    DEPARTMENT,
    EXCLUDED,
    ITEM_ID,
    MARGIN_RATE,
    MEMBER_ID,
    NAME,
    PRICE,
    PROFILE_COLUMNS,
    TIER,
    TIERS,
)
from engine.errors import ArtifactError
from engine.loyalty.config import STAGES, valid_segment_name
from engine.loyalty.table import split_segments

Id = int | str

#: Tier given to a member the artifact does not know (cold start): the entry tier.
DEFAULT_TIER = TIERS[0]


def _py(value: Any) -> Any:
    """A numpy scalar as the plain Python value (so ids stay ``int`` / ``str`` and JSON-serialisable)."""
    return value.item() if isinstance(value, np.generic) else value


#: Optional item fields and the value an artifact without them gives (see engine.artifact).
ITEM_DEFAULTS: dict[str, float] = dict(OPTIONAL_COLUMNS["items"])


@dataclass(frozen=True, slots=True)
class ItemInfo:
    """One catalog item as the rules see it.

    ``price`` is what members are expected to pay in the challenge week (net of the loyalty discount
    and of the planned promotion, :mod:`engine.data.prices`) and ``margin_rate`` the net margin / that
    price. The optional fields default to "unknown cost, no promotion, no habit value" for artifacts
    written before them:

    shelf_price, unit_cost
        The regular price before any discount and the unit cost (NaN when unknown).
    loyalty_discount_share
        Everyday share of the shelf price the loyalty card takes off.
    promo_discount_share
        Expected share of the shelf price taken off when the item is promoted (display or mailer).
    promo_store_share, promo_display_share, promo_mailer_share
        Share of stores with the item on display or in the mailer in the challenge week, and its parts.
    repeat_margin, repeat_share
        The item's category habit value (:mod:`engine.train.habit`): mean net margin of adopters' repeat
        purchases over the horizon, and the share of adopters who buy it again.
    """

    item_id: Id
    name: str
    category: str
    department: str
    price: float
    margin_rate: float
    excluded: bool
    shelf_price: float = math.nan
    unit_cost: float = math.nan
    loyalty_discount_share: float = 0.0
    promo_discount_share: float = 0.0
    promo_store_share: float = 0.0
    promo_display_share: float = 0.0
    promo_mailer_share: float = 0.0
    repeat_margin: float = 0.0
    repeat_share: float = 0.0

    def __post_init__(self) -> None:
        # A JSON round trip (the serving catalog blob) writes NaN as null: read it back as NaN.
        for name in ("price", "margin_rate", *ITEM_DEFAULTS):
            if getattr(self, name) is None:
                object.__setattr__(self, name, math.nan)

    @property
    def unit_margin(self) -> float:
        """Net margin of one unit at the price paid (NaN when price or margin rate is unknown)."""
        return self.price * self.margin_rate

    @property
    def promo_margin_left(self) -> float:
        """Share of the shelf-price margin left at the promotion's price (NaN when the cost is unknown).

        ``1 - promo_discount_share x shelf_price / (shelf_price - unit_cost)``: 1 when a promotion takes
        nothing off, 0 when it takes the whole margin, negative when it sells below cost.
        """
        margin = self.shelf_price - self.unit_cost
        if not margin > 0:  # NaN or no margin at the shelf price: nothing can be left
            return math.nan if math.isnan(margin) else -math.inf
        return 1.0 - self.promo_discount_share * self.shelf_price / margin

    def to_dict(self) -> dict[str, Any]:
        """Plain dict with the field names."""
        return {
            "item_id": self.item_id,
            "name": self.name,
            "category": self.category,
            "department": self.department,
            "price": self.price,
            "margin_rate": self.margin_rate,
            "excluded": self.excluded,
            "shelf_price": self.shelf_price,
            "unit_cost": self.unit_cost,
            "loyalty_discount_share": self.loyalty_discount_share,
            "promo_discount_share": self.promo_discount_share,
            "promo_store_share": self.promo_store_share,
            "promo_display_share": self.promo_display_share,
            "promo_mailer_share": self.promo_mailer_share,
            "repeat_margin": self.repeat_margin,
            "repeat_share": self.repeat_share,
        }


class HabitualCandidate(NamedTuple):
    """A product the member bought before; ``score`` = P(member buys it in the challenge week).

    A named tuple rather than a dataclass: millions are built per artifact and tuples build fastest.
    """

    item_id: Id
    score: float
    n_baskets: int
    last_week: int | None


class StretchCandidate(NamedTuple):
    """A category the member never bought; ``score`` = P(member buys in it in the challenge week)."""

    category: str
    score: float
    suggested_item_id: Id
    expected_margin: float


class TierDrop(NamedTuple):
    """The higher tier a member's trailing spend lost, and the first week below it (win-back)."""

    previous_tier: str
    dropped_week: int


class MemberProfile(NamedTuple):
    """How to address a member, from the members file's optional columns (``None``: not given).

    ``name`` is what a message calls the member, ``language`` a BCP 47 tag (``"fa"``, ``"en-US"``) and
    ``time_zone`` an IANA zone (``"Asia/Tehran"``); see :data:`engine.data.schema.PROFILE_COLUMNS`.
    """

    name: str | None = None
    language: str | None = None
    time_zone: str | None = None


@dataclass(frozen=True, slots=True)
class MemberCandidates:
    """Everything the rules need about one member, best candidates first.

    ``drop`` is set when the member recently dropped a tier (:func:`engine.data.tiers.tier_drops`).
    ``stage`` and ``segments`` (:mod:`engine.loyalty`) travel beside the tier so rules can target them;
    ``None`` and ``()`` when the artifact has no loyalty table (then no stage or segment target matches).
    ``profile`` (how to address the member in a message) is ``None`` when the members file gave none.
    """

    member_id: Id
    tier: str
    habitual: tuple[HabitualCandidate, ...]
    stretch: tuple[StretchCandidate, ...]
    bought_categories: frozenset[str]
    _: KW_ONLY  # the optional parts by name only: positions would silently shift as parts are added
    drop: TierDrop | None = None
    stage: str | None = None
    segments: tuple[str, ...] = ()
    profile: MemberProfile | None = None

    def __post_init__(self) -> None:
        drop = self.drop
        if drop is not None and not (
            drop.previous_tier in TIERS
            and self.tier in TIERS
            and TIERS.index(drop.previous_tier) > TIERS.index(self.tier)
        ):
            raise ArtifactError(
                f"member {self.member_id!r}: previous tier {drop.previous_tier!r} must be one of "
                f"{list(TIERS)} above the member's tier {self.tier!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        """Compact dict: candidates as positional lists (one record per member in the store)."""
        out: dict[str, Any] = {
            "m": self.member_id,
            "t": self.tier,
            "h": [[c.item_id, c.score, c.n_baskets, c.last_week] for c in self.habitual],
            "s": [[c.category, c.score, c.suggested_item_id, c.expected_margin] for c in self.stretch],
            "b": sorted(self.bought_categories),
        }
        if self.drop is not None:  # only then: records of members who did not drop stay as they were
            out["d"] = [self.drop.previous_tier, self.drop.dropped_week]
        if self.stage is not None:
            out["g"] = self.stage
        if self.segments:
            out["sg"] = list(self.segments)
        if self.profile is not None:
            out["p"] = list(self.profile)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MemberCandidates:
        """Inverse of :meth:`to_dict`; a malformed record raises :class:`ArtifactError`."""
        try:
            return cls(
                member_id=data["m"],
                tier=str(data["t"]),
                habitual=tuple(
                    HabitualCandidate(i, float(s), int(n), None if w is None else int(w))
                    for i, s, n, w in data["h"]
                ),
                stretch=tuple(StretchCandidate(str(c), float(s), i, float(e)) for c, s, i, e in data["s"]),
                bought_categories=frozenset(str(c) for c in data["b"]),
                drop=None if data.get("d") is None else TierDrop(str(data["d"][0]), int(data["d"][1])),
                stage=_stage(data.get("g")),
                segments=_segment_names(data.get("sg", ())),
                profile=_profile(data.get("p")),
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ArtifactError(f"malformed member candidate record: {exc!r}") from exc

    def to_json(self) -> bytes:
        """Compact JSON bytes (orjson); NaN scores become ``null`` and read back as NaN."""
        return orjson.dumps(self.to_dict())

    @classmethod
    def from_json(cls, raw: bytes | str) -> MemberCandidates:
        """Inverse of :meth:`to_json`."""
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ArtifactError(f"member candidate record is not valid JSON: {exc}") from exc
        for row in data.get("h", []):
            row[1] = math.nan if row[1] is None else row[1]
        for row in data.get("s", []):
            row[1] = math.nan if row[1] is None else row[1]
            row[3] = math.nan if row[3] is None else row[3]
        return cls.from_dict(data)


def _stage(value: object) -> str | None:
    """A record's stage: ``None`` or one of the ladder's stages (else ``ValueError``)."""
    if value is None:
        return None
    if value not in STAGES:
        raise ValueError(f"stage {value!r} is not one of {list(STAGES)}")
    return str(value)


def _segment_names(value: object) -> tuple[str, ...]:
    """A record's segments: well-formed names (else ``ValueError``)."""
    if not isinstance(value, list | tuple) or not all(
        isinstance(n, str) and valid_segment_name(n) for n in value
    ):
        raise ValueError(f"segments {value!r} are not a list of segment names")
    return tuple(value)


def _profile(raw: Any) -> MemberProfile | None:
    """A record's ``p`` list back as a profile (absent in records written before profiles)."""
    if raw is None:
        return None
    name, language, zone = raw
    return MemberProfile(*(None if v is None else str(v) for v in (name, language, zone)))


class Catalog:
    """Item lookup by id, built once from the artifact's ``items`` table (or any catalog frame)."""

    def __init__(self, items: Mapping[Id, ItemInfo]) -> None:
        self._items = dict(items)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> Catalog:
        """Build from a frame with the catalog columns (see :mod:`engine.data.schema`)."""
        missing = [c for c in CATALOG_COLUMNS if c not in frame]
        if missing:
            raise ArtifactError(f"items table: missing columns {missing}")
        columns = [
            frame[ITEM_ID].tolist(),
            frame[NAME].astype(object).where(frame[NAME].notna(), "").astype(str).tolist(),
            frame[CATEGORY].astype(object).where(frame[CATEGORY].notna(), "").astype(str).tolist(),
            frame[DEPARTMENT].astype(object).where(frame[DEPARTMENT].notna(), "").astype(str).tolist(),
            pd.to_numeric(frame[PRICE], errors="coerce").astype(float).tolist(),
            pd.to_numeric(frame[MARGIN_RATE], errors="coerce").astype(float).tolist(),
            frame[EXCLUDED].fillna(True).astype(bool).tolist(),
        ]
        for name, default in ITEM_DEFAULTS.items():
            # ItemInfo's optional fields follow the catalog columns in this order
            values = frame[name] if name in frame else pd.Series(default, index=frame.index)
            columns.append(pd.to_numeric(values, errors="coerce").astype(float).fillna(default).tolist())
        return cls({row[0]: ItemInfo(*row) for row in zip(*columns, strict=True)})

    @classmethod
    def from_artifact(cls, artifact: CandidateArtifact) -> Catalog:
        """The artifact's items table as a catalog."""
        return cls.from_frame(artifact.items)

    def get(self, item_id: Id) -> ItemInfo | None:
        """The item, or ``None`` when the catalog does not know it."""
        return self._items.get(item_id)

    def __getitem__(self, item_id: Id) -> ItemInfo:
        try:
            return self._items[item_id]
        except KeyError as exc:
            raise ArtifactError(f"item {item_id!r} is not in the catalog") from exc

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._items

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[ItemInfo]:
        return iter(self._items.values())


def _group_bounds(index: pd.Index, keys: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row order grouping ``keys`` by their position in ``index``, with each position's start/end."""
    codes = index.get_indexer(keys)
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    positions = np.arange(len(index))
    starts = np.searchsorted(sorted_codes, positions, side="left")
    ends = np.searchsorted(sorted_codes, positions, side="right")
    return order, starts, ends


def _drops(members: pd.DataFrame) -> list[TierDrop | None]:
    """Each member's tier drop from the members table's win-back columns (checked on reading)."""
    if "previous_tier" not in members.columns or "dropped_week" not in members.columns:
        return [None] * len(members)
    return [
        None if not isinstance(p, str) or pd.isna(w) else TierDrop(p, int(w))
        for p, w in zip(members["previous_tier"].tolist(), members["dropped_week"].tolist(), strict=True)
    ]


def member_index(artifact: CandidateArtifact) -> tuple[pd.Index, list[str]]:
    """Every member of the artifact (members table first, then any only seen in candidates) and tiers."""
    members = artifact.members
    ids = pd.Index(members[MEMBER_ID].tolist())
    if ids.has_duplicates:
        dup = ids[ids.duplicated()].unique()[:5].tolist()
        raise ArtifactError(f"members table: duplicate member_id values, e.g. {dup}")
    tiers = members[TIER].astype(object).where(members[TIER].notna(), DEFAULT_TIER).astype(str).tolist()
    extra: list[Any] = []
    for frame in (artifact.habitual, artifact.stretch):
        unknown = pd.Index(frame[MEMBER_ID].unique().tolist()).difference(ids, sort=False)
        extra.extend(unknown.tolist())
    if extra:
        extra = list(dict.fromkeys(extra))
        ids = ids.append(pd.Index(extra))
        tiers = tiers + [DEFAULT_TIER] * len(extra)
    return ids, tiers


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many long-lived, acyclic objects.

    Each collection rescans every live container, so building millions of candidate tuples with it on
    grows superlinearly (a 50,000-member artifact took 30 s to group instead of a few). The previous
    state is restored on exit.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def iter_member_candidates(artifact: CandidateArtifact) -> Iterator[MemberCandidates]:
    """Yield one :class:`MemberCandidates` per member of ``artifact``, candidates in rank order.

    Members come in the order of the artifact's ``members`` table; members that appear only in the
    candidate tables follow with the entry tier. The tables are grouped once with numpy and every
    candidate is built up front (collector paused), so each member costs a few slices.
    """
    with paused_gc():
        grouped = _grouped(artifact)
    members, tiers, h_all, s_all, b_cat, bounds = grouped
    drops = _drops(artifact.members)
    drops += [None] * (len(members) - len(drops))  # members only seen in the candidate tables
    loyalty = loyalty_of(artifact)
    profiles = member_profiles(artifact.members, len(members))
    for member_id, tier, drop, profile, (hs, he, ss, se, bs, be) in zip(
        members, tiers, drops, profiles, bounds, strict=True
    ):
        stage, segments = loyalty.get(member_id, (None, ()))
        yield MemberCandidates(
            member_id=member_id,
            tier=tier,
            habitual=tuple(h_all[hs:he]),
            stretch=tuple(s_all[ss:se]),
            bought_categories=frozenset(b_cat[bs:be]),
            drop=drop,
            stage=stage,
            segments=segments,
            profile=profile,
        )


def loyalty_of(artifact: CandidateArtifact) -> dict[Any, tuple[str | None, tuple[str, ...]]]:
    """Member id -> (stage, segments) from the artifact's ``member_loyalty`` table (empty: none)."""
    table = artifact.member_loyalty
    return {
        _py(m): (str(g), split_segments(None if pd.isna(sg) else str(sg)))
        for m, g, sg in zip(
            table[MEMBER_ID].tolist(), table["stage"].tolist(), table["segments"].tolist(), strict=True
        )
    }


def member_profiles(members: pd.DataFrame, n: int) -> list[MemberProfile | None]:
    """The profile of each row of ``members`` (from its optional profile columns), padded with ``None``
    to ``n`` (the members seen only in the candidate tables)."""
    given = [c for c in PROFILE_COLUMNS if c in members.columns]
    if not given:
        return [None] * n
    columns = [
        members[c].astype(object).where(members[c].notna(), None).tolist()
        if c in given
        else [None] * len(members)
        for c in PROFILE_COLUMNS
    ]
    rows: list[MemberProfile | None] = [
        None if all(v is None for v in row) else MemberProfile(*(None if v is None else str(v) for v in row))
        for row in zip(*columns, strict=True)
    ]
    return rows + [None] * (n - len(rows))


_Grouped = tuple[
    list[Any], list[str], list[HabitualCandidate], list[StretchCandidate], list[str], list[tuple[int, ...]]
]


def _grouped(artifact: CandidateArtifact) -> _Grouped:
    """Members, tiers, all candidates in member-then-rank order, and each member's slice bounds."""
    index, tiers = member_index(artifact)
    habitual = artifact.habitual.sort_values("rank", kind="stable")
    stretch = artifact.stretch.sort_values("rank", kind="stable")
    h_order, h_start, h_end = _group_bounds(index, habitual[MEMBER_ID])
    s_order, s_start, s_end = _group_bounds(index, stretch[MEMBER_ID])
    b_order, b_start, b_end = _group_bounds(index, artifact.member_categories[MEMBER_ID])

    h_item = habitual[ITEM_ID].to_numpy(dtype=object)[h_order].tolist()
    h_score = habitual["score"].to_numpy(dtype=float)[h_order].tolist()
    h_nb = habitual["n_baskets"].to_numpy(dtype=float)[h_order]
    h_nb_list = np.nan_to_num(h_nb, nan=0.0).astype(np.int64).tolist()
    h_lw = habitual["last_week"].to_numpy(dtype=float)[h_order]
    h_lw_list = [None if math.isnan(w) else int(w) for w in h_lw.tolist()]
    s_cat = stretch[CATEGORY].astype(str).to_numpy(dtype=object)[s_order].tolist()
    s_score = stretch["score"].to_numpy(dtype=float)[s_order].tolist()
    s_item = stretch["suggested_item_id"].to_numpy(dtype=object)[s_order].tolist()
    s_em = stretch["expected_margin"].to_numpy(dtype=float)[s_order].tolist()
    b_cat = artifact.member_categories[CATEGORY].astype(str).to_numpy(dtype=object)[b_order].tolist()

    members = [_py(m) for m in index.tolist()]
    # build every candidate once in C-level loops; each member then takes a slice
    h_all = list(map(HabitualCandidate, map(_py, h_item), h_score, h_nb_list, h_lw_list))
    s_all = list(map(StretchCandidate, s_cat, s_score, map(_py, s_item), s_em))
    bounds = list(
        zip(
            h_start.tolist(),
            h_end.tolist(),
            s_start.tolist(),
            s_end.tolist(),
            b_start.tolist(),
            b_end.tolist(),
            strict=True,
        )
    )
    return members, tiers, h_all, s_all, b_cat, bounds


def cold_start_candidates(
    artifact: CandidateArtifact, member_id: Id, *, tier: str | None = None
) -> MemberCandidates:
    """Candidates for a member the model has not seen: the popular items and categories.

    Habitual picks come from ``popular_items`` (``n_baskets`` 0, no ``last_week``: the member has no
    history), stretch picks from ``popular_categories`` with the expected margin of the suggested item.
    ``tier`` defaults to the member's tier in the artifact, else the entry tier.
    """
    if tier is None:
        members = artifact.members
        match = members.loc[members[MEMBER_ID] == member_id, TIER]
        tier = str(match.iloc[0]) if len(match) and pd.notna(match.iloc[0]) else DEFAULT_TIER
    popular = artifact.popular_items.sort_values("rank", kind="stable")
    habitual = tuple(
        HabitualCandidate(_py(i), float(s), 0, None)
        for i, s in zip(popular[ITEM_ID].tolist(), popular["score"].tolist(), strict=True)
    )
    items = artifact.items.set_index(ITEM_ID)
    unit_margin = (
        pd.to_numeric(items[PRICE], errors="coerce") * pd.to_numeric(items[MARGIN_RATE], errors="coerce")
    ).to_dict()
    cats = artifact.popular_categories.sort_values("rank", kind="stable")
    stretch = tuple(
        StretchCandidate(str(c), float(s), _py(i), float(s) * float(unit_margin.get(_py(i), math.nan)))
        for c, s, i in zip(
            cats[CATEGORY].tolist(), cats["score"].tolist(), cats["suggested_item_id"].tolist(), strict=True
        )
    )
    stage, segments = loyalty_of(artifact).get(member_id, (None, ()))
    return MemberCandidates(
        member_id=member_id,
        tier=tier,
        habitual=habitual,
        stretch=stretch,
        bought_categories=frozenset(),
        stage=stage,
        segments=segments,
    )
