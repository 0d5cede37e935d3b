"""The events the experiment loop records, and the challenge progress derived from them.

Events carry a unique ``event_id``: the store keeps each id once, so a resent event changes nothing,
and progress is always recomputed from the set of events seen, so the order they arrive in does not
matter either.

ExposureEvent   a member was served the experiment's answer for a week (a challenge, or the holdout's
                explicit no-offer, which counts as exposed too)
PurchaseEvent   a member bought an item in a week (with the item's category, which the stretch pick
                counts: any product of the stretch category bought in the week completes that pick)
OptOutEvent     a member's signal: opted out of offers (or back in), unsubscribed or blocked
                notifications (the ``opt_out_rate`` guardrail counts the negative ones; an opt-out
                stops the member's offers until an opt-in)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from engine.errors import BadRequest

MemberId = int | str
ItemId = int | str

#: A challenge has exactly this many picks: two habitual, one stretch.
PICKS_PER_CHALLENGE = 3


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: str = Field(min_length=1, max_length=200)
    member_id: MemberId
    week: int = Field(ge=1)

    @field_validator("member_id")
    @classmethod
    def _member_not_blank(cls, value: MemberId) -> MemberId:
        if isinstance(value, str) and not value.strip():
            raise ValueError("member_id must not be blank")
        return value


class ChallengeSnapshot(BaseModel):
    """What the member was offered: the three pick item ids and the reward's cost to the retailer.

    ``stretch_category`` is the stretch pick's category: any product of it bought in the week counts
    for the stretch pick (its item id, the suggested product, is a hint that counts too). None in
    snapshots stored before categories counted: then only the suggested product counts.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    item_ids: tuple[str, ...] = Field(min_length=PICKS_PER_CHALLENGE, max_length=PICKS_PER_CHALLENGE)
    reward_cost: float = Field(ge=0)
    stretch_category: str | None = Field(default=None, min_length=1, max_length=200)

    @field_validator("item_ids", mode="before")
    @classmethod
    def _ids_as_text(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return tuple(str(v) for v in value)
        return value

    @field_validator("item_ids")
    @classmethod
    def _distinct(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError(f"picks must be distinct items; got {list(value)}")
        return value


class ExposureEvent(_Event):
    """One serving of an experiment's answer; ``challenge`` is None for a no-offer (the holdout's).

    ``shadow`` is what the member would have been offered but was not (the holdout's counterfactual
    challenge): it is never shown and earns no reward, but it lets the analysis measure how much an
    offer raises each pick's purchase probability. Pick order is habitual, habitual, stretch.
    """

    experiment: str = Field(min_length=1)
    salt: str = Field(min_length=1)
    arm: str = Field(min_length=1)
    challenge: ChallengeSnapshot | None = None
    shadow: ChallengeSnapshot | None = None
    timestamp: datetime | None = None
    #: The exact answer served (the API's JSON), kept so that an answer the online store lost can be
    #: served again unchanged; not part of the event's identity (a resend without it is the same event).
    served: str | None = None

    @model_validator(mode="after")
    def _one_of_challenge_or_shadow(self) -> ExposureEvent:
        if self.challenge is not None and self.shadow is not None:
            raise ValueError("an exposure carries either a shown challenge or a shadow one, not both")
        return self


class PurchaseEvent(_Event):
    """One purchase line; ``transaction_id`` is the till's basket, ``source`` the API key that sent it.

    ``earns`` False: kept as the member's spend for the analysis, but it never counts towards a
    challenge (the till sent it after its week's challenge expired). ``category`` is the item's
    category as the engine's catalog knows it (set by the serving layer, never taken from the till):
    a purchase in the stretch category counts for the stretch pick. None: the item counts only as
    itself. It is kept with the first copy of the event and is not part of its identity (a resend
    resolved against another catalog is the same event).
    """

    item_id: ItemId
    quantity: float = Field(gt=0, allow_inf_nan=False)
    sales_value: float = Field(ge=0, allow_inf_nan=False)
    timestamp: datetime | None = None
    transaction_id: str | None = Field(default=None, min_length=1, max_length=200)
    source: str | None = Field(default=None, min_length=1, max_length=64)
    earns: bool = True
    category: str | None = Field(default=None, min_length=1, max_length=200)


#: Member signals: ``opt_out`` (no more offers), ``opt_in`` (offers again: the latest of the two
#: decides), and the negative signals ``unsubscribe`` (from offer messages) and
#: ``blocked_notifications`` (the app's notifications blocked on the device).
SignalKind = Literal["opt_out", "opt_in", "unsubscribe", "blocked_notifications"]
SIGNAL_KINDS: tuple[SignalKind, ...] = get_args(SignalKind)
#: The kinds the ``opt_out_rate`` guardrail counts (an opt-in is not a harm).
NEGATIVE_KINDS: frozenset[SignalKind] = frozenset({"opt_out", "unsubscribe", "blocked_notifications"})


class OptOutEvent(_Event):
    """A member's signal in a week: the latest ``opt_out`` or ``opt_in`` decides whether offers stop.

    "Latest" is by week, then timestamp (a naive one is taken as UTC), then arrival.
    """

    kind: SignalKind = "opt_out"
    timestamp: datetime | None = None


PickKind = Literal["habitual", "stretch"]


class PickProgress(BaseModel):
    """One pick and whether it has been bought in the challenge week.

    A habitual pick is its exact item. The stretch pick is a category (``category``; None for a
    challenge stored before categories counted, when only the item counts): ``item_id`` is the
    suggested product, and any product of the category bought counts. ``bought_item_id`` is the
    product that satisfied the pick: the pick's own item when bought, else the first product of the
    stretch category bought (None while not bought).
    """

    model_config = ConfigDict(frozen=True)

    item_id: str
    bought: bool
    kind: PickKind = "habitual"
    category: str | None = None
    bought_item_id: str | None = None


class Progress(BaseModel):
    """A member's challenge progress for a week, derived from the events seen so far."""

    model_config = ConfigDict(frozen=True)

    member_id: str
    week: int
    experiment: str | None = None
    arm: str | None = None
    offered: bool = False
    picks: tuple[PickProgress, ...] = ()
    completed: bool = False
    reward_issued: bool = False
    reward_cost: float = 0.0
    #: True only in the answer to the event that completed the challenge (notify the member once).
    reward_issued_now: bool = False

    @property
    def bought(self) -> int:
        """How many of the picks are bought."""
        return sum(p.bought for p in self.picks)


def pick_progress(
    item_ids: Sequence[str],
    exact: Sequence[bool],
    stretch_category: str | None,
    category_item: str | None,
) -> tuple[PickProgress, ...]:
    """The picks' progress from what each event store reads (one construction for both stores).

    Parameters
    ----------
    item_ids
        The picks in order: habitual, habitual, stretch.
    exact
        Per pick, whether its own item was bought (an earning purchase in the week).
    stretch_category
        The stretch pick's category (None: a snapshot from before categories counted).
    category_item
        The first product of ``stretch_category`` bought in the week, if any.
    """
    last = len(item_ids) - 1
    out = []
    for index, (item, own) in enumerate(zip(item_ids, exact, strict=True)):
        if index < last:
            out.append(PickProgress(item_id=item, bought=own, bought_item_id=item if own else None))
            continue
        via = category_item if stretch_category is not None else None
        found = item if own else via
        out.append(
            PickProgress(
                item_id=item,
                bought=found is not None,
                kind="stretch",
                category=stretch_category,
                bought_item_id=found,
            )
        )
    return tuple(out)


def parse_event(model: type[_Event], raw: Mapping[str, Any], where: str) -> Any:
    """Validate one raw event; a bad one raises :class:`BadRequest` naming ``where`` and each bad field."""
    try:
        return model.model_validate(dict(raw))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<event>'}: {e['msg']}" for e in exc.errors()
        )
        raise BadRequest(
            f"{where}: invalid {model.__name__}: {problems}", detail=exc.errors(include_url=False)
        ) from exc


def signal_order(event: OptOutEvent) -> str:
    """The sort key that says which opt-out/opt-in signal is the latest (fixed width: compares as text)."""
    when = ""
    if event.timestamp is not None:
        stamp = event.timestamp if event.timestamp.tzinfo else event.timestamp.replace(tzinfo=UTC)
        when = stamp.astimezone(UTC).isoformat(timespec="microseconds")
    return f"{event.week:08d}|{when}"
