"""The events the experiment loop records, and the challenge progress derived from them.

Events carry a unique ``event_id``: the store keeps each id once, so a resent event changes nothing,
and progress is always recomputed from the set of events seen, so the order they arrive in does not
matter either.

ExposureEvent   a member was served the experiment's answer for a week (a challenge, or the holdout's
                explicit no-offer, which counts as exposed too)
PurchaseEvent   a member bought an item in a week
OptOutEvent     a member opted out of offers (a guardrail)
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

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
    """What the member was offered: the three pick item ids and the reward's cost to the retailer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    item_ids: tuple[str, ...] = Field(min_length=PICKS_PER_CHALLENGE, max_length=PICKS_PER_CHALLENGE)
    reward_cost: float = Field(ge=0)

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
    """One purchase line."""

    item_id: ItemId
    quantity: float = Field(gt=0)
    sales_value: float = Field(ge=0)
    timestamp: datetime | None = None


class OptOutEvent(_Event):
    """A member opted out of offers in a week."""

    timestamp: datetime | None = None


class PickProgress(BaseModel):
    """One pick and whether it has been bought in the challenge week."""

    model_config = ConfigDict(frozen=True)

    item_id: str
    bought: bool


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
