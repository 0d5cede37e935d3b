"""Member look-up (what the member gets this week and why, issuing nothing) and the weekly budget."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response

from engine.console.accounts import Session
from engine.console.web import console_state, render, viewer
from engine.serve.issuance import preview_for
from engine.serve.member_ids import check_member_id

router = APIRouter()


@router.get("/members")
async def member(
    request: Request,
    session: Annotated[Session, Depends(viewer)],
    member_id: Annotated[str | None, Query()] = None,
    week: Annotated[int | None, Query()] = None,
) -> Response:
    """The member's challenge for the week through the service's read-only preview, with history."""
    if not member_id:
        return render(request, "members.html", session, found=None, member_id="", week=week)
    state = console_state(request).serve
    member_id = check_member_id(member_id.strip())
    chosen = state.week(week)
    decision = await preview_for(state.issuer, member_id, chosen)
    challenge: dict[str, Any] = orjson.loads(decision.payload)
    history = []
    for past in range(chosen - 1, max(chosen - 1 - console_state(request).config.history_weeks, 0), -1):
        stored = await state.store.get_issued(past, member_id)
        if stored is not None:
            history.append(orjson.loads(stored))
    progress = None
    if state.experiments is not None and decision.stored:
        progress = orjson.loads(await state.experiments.progress(member_id, chosen))
    return render(
        request,
        "members.html",
        session,
        found=challenge,
        issued=decision.stored,
        history=history,
        progress=progress,
        member_id=member_id,
        week=chosen,
    )


@router.get("/budget")
async def budget(
    request: Request,
    session: Annotated[Session, Depends(viewer)],
    week: Annotated[int | None, Query()] = None,
) -> Response:
    """Spent against the weekly cap, the shadow price the served version was published with, and the
    offers withheld for budget."""
    state = console_state(request).serve
    chosen = state.week(week)
    live = state.rules.live
    spent = await state.store.budget_spent(chosen)
    version = await state.store.current_version()
    data = None if version is None else await state.issuer.versions.find(version)
    prices = None if data is None else data.prices
    counters = await state.store.counters()
    return render(
        request,
        "budget.html",
        session,
        week=chosen,
        spent=spent,
        cap=live.rules.budget.weekly_expected_cost,
        trial_cap=live.rules.budget.weekly_trial_cost,
        rules_version=live.version,
        model_version=version,
        prices=prices,
        prices_apply=prices is not None and prices.rules_version == live.version,
        withheld_budget=counters.get("no_offer:budget", 0),
        decisions_week=counters.get(f"decisions:w{chosen}", 0),
    )
