"""Request and response bodies of the HTTP API (they make the OpenAPI spec)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from engine.challenge import Challenge

#: Member ids in URLs and bodies: letters, digits, '_', '.', '-' (":" separates store keys), 1..64 chars.
MEMBER_ID_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
MemberId = Annotated[str, Field(pattern=MEMBER_ID_PATTERN, examples=["1234"])]


class PickStatus(BaseModel):
    """One of the challenge's picks and whether the member bought it this week."""

    item_id: str
    bought: bool


class ChallengeProgress(BaseModel):
    """A member's progress on the week's challenge, from the purchase events received so far.

    ``offered`` is False for a no-offer (the holdout's included); ``completed`` means every pick is
    bought; ``reward_issued`` that the reward was granted (exactly once per member and week).
    """

    member_id: str
    week: int
    experiment: str | None
    arm: str | None
    offered: bool
    picks: list[PickStatus]
    completed: bool
    reward_issued: bool
    reward_cost: float


class ChallengeResponse(Challenge):
    """A member's challenge for a week (or explicit no-offer), as issued and stored.

    Beyond the challenge itself: ``experiment`` and ``arm`` name the A/B experiment running that week
    and the member's arm (``null`` without one; the holdout arm gets an explicit no-offer with reason
    code ``holdout``), ``cold_start`` says the member was unknown to the model (popular items were used),
    ``issued_at`` is when the challenge was first issued, ``expires_at`` the end of its week.
    ``progress`` is present when experiments are configured (``null`` outside an experiment's weeks).
    """

    arm: str | None
    experiment: str | None = None
    cold_start: bool
    issued_at: str
    expires_at: str
    progress: ChallengeProgress | None = None


ItemIdIn = Annotated[int, Field(ge=0)] | Annotated[str, Field(min_length=1, max_length=64)]


class PurchaseIn(BaseModel):
    """One purchase line from the till or the app backend.

    ``event_id`` is unique per purchase line: a resent event changes nothing, the same id with other
    content is refused (409). ``category`` is informational (progress matches the picks' item ids).
    """

    model_config = ConfigDict(extra="forbid")

    event_id: str = Field(min_length=1, max_length=200)
    member_id: Annotated[int, Field(ge=0)] | MemberId
    item_id: ItemIdIn
    category: str | None = Field(default=None, max_length=200)
    week: int = Field(ge=1)
    timestamp: datetime | None = None
    quantity: float = Field(default=1.0, gt=0, allow_inf_nan=False)
    sales_value: float = Field(default=0.0, ge=0, allow_inf_nan=False)


class PurchaseBatch(BaseModel):
    """A batch of purchase events, stored in one transaction (all or nothing)."""

    model_config = ConfigDict(extra="forbid")

    events: list[PurchaseIn] = Field(min_length=1)


class EventProgress(ChallengeProgress):
    """Progress after a batch; ``reward_issued_now`` is True only in the answer that completed it."""

    reward_issued_now: bool


class PurchasesAccepted(BaseModel):
    """How many events were taken and the progress of every member-week they touched."""

    accepted: int
    progress: list[EventProgress]


class BatchRequest(BaseModel):
    """Many members at once, for one week (default: the current week)."""

    model_config = ConfigDict(extra="forbid")

    member_ids: list[MemberId] = Field(min_length=1)
    week: int | None = None


class BatchResponse(BaseModel):
    """One challenge (or no-offer) per requested member, in request order."""

    week: int
    challenges: list[ChallengeResponse]


class ErrorBody(BaseModel):
    """Every error answer: the error class name and what went wrong."""

    error: str
    detail: Any


class Health(BaseModel):
    """Liveness."""

    status: str


class Ready(BaseModel):
    """Readiness: the store answers and a model is published."""

    status: str
    model_version: str
    previous_version: str | None
    rules_version: str
    rules_rejected: str | None
    #: Set when the store would lose data on a restart of its own (e.g. Redis without AOF).
    durability_warning: str | None = None


class RulesReloaded(BaseModel):
    """The rules in force after a reload."""

    rules_version: str
    changed: bool


class Published(BaseModel):
    """The model version now serving, and the one a rollback returns to."""

    model_version: str
    previous_version: str | None
    members: int | None = None


class Counters(BaseModel):
    """Store-wide counters (all processes): decisions, statuses, no-offer reasons, arms."""

    counters: dict[str, int]


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in (
        (401, "missing or wrong admin API key"),
        (404, "unknown model version or route"),
        (409, "conflict with stored state (e.g. nothing to roll back to)"),
        (422, "malformed request, week out of range, or invalid rules file"),
        (503, "online store unreachable or no model published"),
    )
}
