"""``POST /v1/members/{member_id}/challenge/choice``: the member picks one of the week's options.

The same ``read`` scope as reading the challenge (the app backend acts for the member). The plain
function is :func:`engine.serve.choice.choose`. While an experiment runs no member is offered a choice
(:mod:`engine.serve.issuance`): the experiment's event store tracks the challenge recorded at issuance,
and switching its progress and reward to a later pick needs an event-store method on both event stores.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from engine.serve.choice import choose
from engine.serve.deps import ReadAccess
from engine.serve.programme_schemas import ChoiceRequest
from engine.serve.routes import MemberIdPath
from engine.serve.schemas import ERROR_RESPONSES, ChallengeResponse

router = APIRouter()


@router.post(
    "/v1/members/{member_id}/challenge/choice",
    response_model=ChallengeResponse,
    responses=ERROR_RESPONSES,
    summary="Pick one of the week's alternative challenges (once; the same pick again changes nothing)",
    tags=["challenges"],
)
async def post_choice(
    access: ReadAccess,
    member_id: MemberIdPath,
    body: ChoiceRequest,
    week: Annotated[int | None, Query(description="challenge week; default: the current week")] = None,
) -> Response:
    """Record the pick; answer the member's challenge with the chosen option (409 if another was picked)."""
    state = access.state
    the_week = state.week(week)
    payload, _ = await choose(state.store, state.store, member_id, the_week, body.option_id)
    return Response(payload, media_type="application/json")
