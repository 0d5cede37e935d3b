"""Request and response bodies of the HTTP API (they make the OpenAPI spec)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from engine.challenge import Challenge
from engine.experiments.events import SignalKind
from engine.serve.member_ids import (
    MAX_NUMERIC_ID,
    MEMBER_ID_MAX_LENGTH,
    MEMBER_ID_PATTERN,
    check_member_id,
)
from engine.serve.programme_schemas import ChoiceOffer, RestoredTier

#: The spec states the member-id rule (:mod:`engine.serve.member_ids`); ``check_member_id`` enforces it
#: with a message that says how to write a non-canonical id.
MEMBER_ID_SCHEMA: dict[str, Any] = {
    "pattern": MEMBER_ID_PATTERN,
    "minLength": 1,
    "maxLength": MEMBER_ID_MAX_LENGTH,
    "examples": ["1234"],
}
MemberId = Annotated[str, AfterValidator(check_member_id), Field(json_schema_extra=MEMBER_ID_SCHEMA)]


class PickStatus(BaseModel):
    """One of the challenge's picks and whether the member bought it this week.

    A ``habitual`` pick is its exact product. The ``stretch`` pick is a category (``category``): any
    product of it bought this week counts, and ``item_id`` is the suggested product (a hint).
    ``bought_item_id`` is the product that satisfied the pick (``null`` while not bought). A challenge
    issued before categories counted has ``category`` ``null``: only its suggested product counts.
    """

    item_id: str
    bought: bool
    kind: Literal["habitual", "stretch"]
    category: str | None
    bought_item_id: str | None


class ChallengeProgress(BaseModel):
    """A member's progress on the week's challenge, from the purchase events received so far.

    ``offered`` is False for a no-offer (the holdout's included); ``completed`` means every pick is
    bought; ``reward_issued`` that the reward was granted (exactly once per member and week);
    ``reward_issued_now`` that this answer is the one that granted it (notify the member once).
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
    #: True only in the one answer that issued the reward: the purchase batch that completed the
    #: challenge, or the challenge's first answer when the purchases came before it was issued.
    reward_issued_now: bool


class ChallengeResponse(Challenge):
    """A member's challenge for a week (or explicit no-offer), as issued and stored.

    Beyond the challenge itself: ``experiment`` and ``arm`` name the A/B experiment running that week
    and the member's arm (``null`` without one; the holdout arm gets an explicit no-offer with reason
    code ``holdout``), ``cold_start`` says the member was unknown to the model (popular items were used),
    ``issued_at`` is when the challenge was first issued, ``expires_at`` the end of its week.
    ``progress`` is present when experiments are configured (``null`` outside an experiment's weeks).
    ``message`` is the short text to send the member (at most 160 SMS units, :mod:`engine.messages`)
    in ``message_language`` (a BCP 47 tag), to be sent at ``send_at`` (ISO 8601 with the member's
    offset: the first instant in office hours at or after issuance); all three ``null`` for a no-offer.
    """

    arm: str | None
    experiment: str | None = None
    cold_start: bool
    issued_at: str
    expires_at: str
    progress: ChallengeProgress | None = None
    #: Members of a tier with a choice: the options and the pick (:mod:`engine.serve.choice`).
    choice: ChoiceOffer | None = None
    #: Win-back answers: the tier completing it restored (null until then; :mod:`engine.serve.winback`).
    restored: RestoredTier | None = None
    message: str | None = None
    message_language: str | None = None
    send_at: str | None = None


class ChallengePreview(ChallengeResponse):
    """A read-only look-up (support staff, marketers): what the member gets this week, explained.

    ``issued`` is True when this is the challenge already issued to the member this week, False when it
    is the one the rules in force would issue now (nothing was stored, spent or exposed to make it).
    """

    issued: bool


ItemIdIn = Annotated[int, Field(ge=0)] | Annotated[str, Field(min_length=1, max_length=64)]


class PurchaseIn(BaseModel):
    """One purchase line from the till (the point of sale's key: scope ``purchases``).

    ``event_id`` is unique per purchase line: a resent event changes nothing, the same id with other
    content is refused (409). ``transaction_id`` is the till's basket id. ``timestamp`` (with a time
    zone) places the purchase in its challenge week on the serving calendar; ``week``, if sent, must be
    that week. ``quantity`` and ``sales_value`` (what the member paid) are positive and finite: a voided
    scan is not a purchase. ``category`` is accepted and ignored: what an item counts for (the stretch
    pick is a category) is read from the engine's catalog, never from the till.
    """

    model_config = ConfigDict(extra="forbid")

    event_id: str = Field(min_length=1, max_length=200)
    transaction_id: str = Field(min_length=1, max_length=200)
    member_id: Annotated[int, Field(ge=0, le=MAX_NUMERIC_ID)] | MemberId
    item_id: ItemIdIn
    category: str | None = Field(default=None, max_length=200)
    timestamp: AwareDatetime
    week: int | None = Field(default=None, ge=1)
    quantity: float = Field(gt=0, allow_inf_nan=False)
    sales_value: float = Field(gt=0, allow_inf_nan=False)


class PurchaseBatch(BaseModel):
    """A batch of purchase events; those counted are stored in one transaction (all or nothing)."""

    model_config = ConfigDict(extra="forbid")

    events: list[PurchaseIn] = Field(min_length=1)


#: Why an event earned nothing.
NotCountedReason = Literal["week_not_started", "timestamp_in_future", "week_expired", "unknown_item"]


class NotCounted(BaseModel):
    """An event that earns nothing, and why: ``week_expired`` ones are stored as spend for the analysis
    (a resend cannot earn later); ``week_not_started`` and ``timestamp_in_future`` ones are not stored;
    ``unknown_item`` ones (the item is not in the catalog of the model version that issued the member's
    challenge) are stored as spend but match no pick."""

    index: int
    event_id: str
    member_id: str
    week: int
    reason: NotCountedReason
    detail: str


class PurchasesAccepted(BaseModel):
    """How many events were stored, the progress of every member-week they touched, and those that
    earn nothing."""

    accepted: int
    progress: list[ChallengeProgress]
    not_counted: list[NotCounted]


class SignalIn(BaseModel):
    """One member signal: ``opt_out`` (no more offers from the next challenge on), ``opt_in`` (offers
    again; the later of the two decides), ``unsubscribe`` (from offer messages) or
    ``blocked_notifications``. All but ``opt_in`` count in the ``opt_out_rate`` guardrail of the
    experiment running in the week of ``timestamp``."""

    model_config = ConfigDict(extra="forbid")

    event_id: str = Field(min_length=1, max_length=200)
    member_id: Annotated[int, Field(ge=0)] | MemberId
    kind: SignalKind
    timestamp: AwareDatetime


class SignalBatch(BaseModel):
    """A batch of negative signals."""

    model_config = ConfigDict(extra="forbid")

    events: list[SignalIn] = Field(min_length=1)


class SignalsAccepted(BaseModel):
    """How many signals were taken, and how many of them were not seen before."""

    accepted: int
    new: int


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
        (401, "missing or wrong API key"),
        (403, "the API key does not hold the scope this call needs"),
        (404, "unknown model version or route"),
        (409, "conflict with stored state (e.g. nothing to roll back to)"),
        (422, "malformed request, week out of range, or invalid rules file"),
        (503, "online store unreachable or no model published"),
    )
}
