"""Request and response bodies of the HTTP API (they make the OpenAPI spec)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from engine.challenge import Challenge

#: Member ids in URLs and bodies: letters, digits, '_', '.', '-' (":" separates store keys), 1..64 chars.
MEMBER_ID_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
MemberId = Annotated[str, Field(pattern=MEMBER_ID_PATTERN, examples=["1234"])]


class ChallengeResponse(Challenge):
    """A member's challenge for a week (or explicit no-offer), as issued and stored.

    Beyond the challenge itself: ``arm`` is the experiment arm (``null`` without an experiment),
    ``cold_start`` says the member was unknown to the model (popular items were used), ``issued_at`` is
    when the challenge was first issued, ``expires_at`` the end of its week.
    """

    arm: str | None
    cold_start: bool
    issued_at: str
    expires_at: str


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
