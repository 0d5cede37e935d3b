"""``POST /v1/members/{member_id}/challenge/displayed``: the app reports that the challenge was shown.

Exposure used to be recorded when the app *fetched* a challenge; a fetch that is never shown is no
exposure. The app calls this route when the challenge (or, for the holdout, the no-offer screen) is
actually on the member's screen; experiments with ``exposure = "displayed"`` count exposure from
these reports (:mod:`engine.experiments.exposure`), and fetches stay a separate count.

The display log sits beside the experiment event store (:mod:`engine.experiments.displays`) and is
opened and closed with the app by this router's own lifespan, so ``create_app`` only includes the
router. Without ``[experiments]`` in the serve settings the route answers 404, as progress does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from pydantic import BaseModel

from engine.errors import NotFound
from engine.experiments.config import load_experiments_config
from engine.experiments.displays import DisplayLog, open_display_log, record_display
from engine.serve.deps import requires
from engine.serve.routes import MemberIdPath
from engine.serve.schemas import ERROR_RESPONSES
from engine.serve.state import ServeState


class DisplayAnswer(BaseModel):
    """What a display report did: the experiment and arm it counted for (null: in no experiment)."""

    member_id: str
    week: int
    experiment: str | None
    arm: str | None


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    state: ServeState = app.state.serve
    config = state.settings.experiments
    log: DisplayLog | None = None
    if config is not None:
        store = config.store or load_experiments_config(config.config_path).store
        log = open_display_log(store)
    app.state.displays = log
    try:
        yield
    finally:
        if log is not None:
            log.close()


router = APIRouter(lifespan=_lifespan)


@router.post(
    "/v1/members/{member_id}/challenge/displayed",
    response_model=DisplayAnswer,
    responses=ERROR_RESPONSES,
    summary="The app showed the member's challenge (or no-offer screen): count the exposure now",
    tags=["experiments"],
    dependencies=[Depends(requires("read"))],
)
async def challenge_displayed(
    request: Request,
    member_id: MemberIdPath,
    week: Annotated[int | None, Query(description="challenge week; default: the current week")] = None,
) -> DisplayAnswer:
    """Record that the member's challenge for the week was displayed."""
    state: ServeState = request.app.state.serve
    log: DisplayLog | None = request.app.state.displays
    runtime = state.experiment_runtime()
    if log is None:
        raise NotFound("display reports need [experiments] in the serve settings (configs/serve.toml)")
    the_week = state.week(week)
    definition = runtime.active(the_week)
    if definition is None:
        return DisplayAnswer(member_id=member_id, week=the_week, experiment=None, arm=None)
    arm = await anyio.to_thread.run_sync(record_display, log, definition, member_id, the_week)
    return DisplayAnswer(
        member_id=member_id, week=the_week, experiment=None if arm is None else definition.name, arm=arm
    )
