"""HTTP routes: thin, each one calls a plain function and returns its result.

Challenge bodies are stored as the exact JSON the API returns, so the challenge routes hand stored
bytes straight back (no re-validation on the hot path); ``response_model`` still documents them.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import anyio.to_thread
import orjson
from fastapi import APIRouter, Path, Query, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from engine.errors import BadRequest, StoreUnavailable
from engine.experiments.events import PurchaseEvent
from engine.serve.issuance import challenge_for
from engine.serve.publish import check_version, load_for_publish, publish
from engine.serve.schemas import (
    ERROR_RESPONSES,
    MEMBER_ID_PATTERN,
    BatchRequest,
    BatchResponse,
    ChallengeProgress,
    ChallengeResponse,
    Counters,
    Health,
    Published,
    PurchaseBatch,
    PurchasesAccepted,
    Ready,
    RulesReloaded,
)
from engine.serve.state import ServeState

router = APIRouter()
JSON = "application/json"


def _state(request: Request) -> ServeState:
    state: ServeState = request.app.state.serve
    return state


def _json(body: object, status_code: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status_code, media_type=JSON)


@router.get(
    "/v1/members/{member_id}/challenge",
    response_model=ChallengeResponse,
    responses=ERROR_RESPONSES,
    summary="A member's challenge for a week (issued on the first request, then stable)",
    tags=["challenges"],
)
async def get_challenge(
    request: Request,
    member_id: Annotated[str, Path(pattern=MEMBER_ID_PATTERN, description="the loyalty member id")],
    week: Annotated[int | None, Query(description="challenge week; default: the current week")] = None,
) -> Response:
    """Return the member's challenge, issuing it first if this is the week's first request."""
    state = _state(request)
    decision = await challenge_for(state.issuer, member_id, state.week(week))
    if decision.new:
        state.metrics.decision(decision.status, decision.reason_code, decision.cold_start)
    return Response(decision.payload, media_type=JSON)


@router.post(
    "/v1/challenges:batch",
    response_model=BatchResponse,
    responses=ERROR_RESPONSES,
    summary="Challenges for many members at once",
    tags=["challenges"],
)
async def batch_challenges(request: Request, body: BatchRequest) -> Response:
    """Issue or return each member's challenge, in request order."""
    state = _state(request)
    if len(body.member_ids) > state.settings.max_batch:
        raise BadRequest(
            f"at most {state.settings.max_batch} member_ids per batch (got {len(body.member_ids)})"
        )
    week = state.week(body.week)
    step = state.settings.batch_concurrency
    payloads: list[bytes] = []
    for start in range(0, len(body.member_ids), step):
        chunk = body.member_ids[start : start + step]
        decisions = await asyncio.gather(*(challenge_for(state.issuer, m, week) for m in chunk))
        for decision in decisions:
            if decision.new:
                state.metrics.decision(decision.status, decision.reason_code, decision.cold_start)
            payloads.append(decision.payload)
    # Splice the stored JSON bodies in as they are rather than decoding and re-encoding them.
    return Response(b'{"week":%d,"challenges":[%b]}' % (week, b",".join(payloads)), media_type=JSON)


@router.post(
    "/v1/events/purchases",
    response_model=PurchasesAccepted,
    responses=ERROR_RESPONSES,
    summary="Purchase events: update challenge progress; a completed challenge's reward is issued once",
    tags=["experiments"],
)
async def post_purchases(request: Request, body: PurchaseBatch) -> Response:
    """Store a batch of purchase events (idempotent by ``event_id``) and return the progress they made."""
    state = _state(request)
    runtime = state.experiment_runtime()
    if len(body.events) > runtime.max_events:
        raise BadRequest(f"at most {runtime.max_events} events per batch (got {len(body.events)})")
    events = []
    calendar = state.calendar.config
    for index, event in enumerate(body.events):
        if not calendar.min_week <= event.week <= calendar.max_week:
            raise BadRequest(
                f"body.events.{index}.week: week {event.week} is outside the served range "
                f"{calendar.min_week}..{calendar.max_week}"
            )
        events.append(
            PurchaseEvent(
                event_id=event.event_id,
                member_id=str(event.member_id),
                week=event.week,
                item_id=str(event.item_id),
                quantity=event.quantity,
                sales_value=event.sales_value,
                timestamp=event.timestamp,
            )
        )
    touched = await runtime.ingest(events)
    progress = [p.model_dump(mode="json") for p in touched]
    return _json({"accepted": len(events), "progress": progress})


@router.get(
    "/v1/members/{member_id}/progress",
    response_model=ChallengeProgress,
    responses=ERROR_RESPONSES,
    summary="A member's progress on a week's challenge (picks bought, completed, reward issued)",
    tags=["experiments"],
)
async def get_progress(
    request: Request,
    member_id: Annotated[str, Path(pattern=MEMBER_ID_PATTERN, description="the loyalty member id")],
    week: Annotated[int | None, Query(description="challenge week; default: the current week")] = None,
) -> Response:
    """The member's progress, from the purchase events received so far."""
    state = _state(request)
    runtime = state.experiment_runtime()
    return Response(await runtime.progress(member_id, state.week(week)), media_type=JSON)


@router.get("/healthz", response_model=Health, tags=["operations"], summary="Liveness")
async def healthz() -> Response:
    """The process is up."""
    return _json({"status": "ok"})


@router.get(
    "/readyz", response_model=Ready, responses=ERROR_RESPONSES, tags=["operations"], summary="Readiness"
)
async def readyz(request: Request) -> Response:
    """Ready when the store answers and a model version is published."""
    state = _state(request)
    await state.store.ping()
    current = await state.store.current_version()
    if current is None:
        raise StoreUnavailable(f"not ready: {state.issuer.when_empty()}")
    durability = None if state.recovery is None else await state.recovery.check_durability()
    return _json(
        {
            "status": "ready",
            "model_version": current,
            "previous_version": await state.store.previous_version(),
            "rules_version": state.rules.live.version,
            "rules_rejected": state.rules.rejected,
            "durability_warning": durability,
        }
    )


@router.get("/metrics", tags=["operations"], summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Prometheus text exposition of this process's metrics."""
    return Response(_state(request).metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/_bench/ping", include_in_schema=False)
async def bench_ping(request: Request) -> Response:
    """One plain store GET: the floor the load benchmark compares the challenge route with."""
    await _state(request).store.bench_get()
    return Response(b'{"ok":true}', media_type=JSON)


def _admin(request: Request) -> ServeState:
    state = _state(request)
    state.check_admin(request.headers.get(state.settings.admin_header))
    return state


@router.post(
    "/v1/admin/rules:reload",
    response_model=RulesReloaded,
    responses=ERROR_RESPONSES,
    tags=["admin"],
    summary="Reload the rules file now (a bad file is refused; the last good rules stay)",
)
async def reload_rules(request: Request) -> Response:
    """Reload the rules; a bad file answers 422 with the problem and changes nothing."""
    state = _admin(request)
    try:
        live, changed = state.rules.reload()
    except Exception:
        state.metrics.rules_reloads.labels("refused").inc()
        raise
    state.metrics.rules_reloads.labels("changed" if changed else "unchanged").inc()
    return _json({"rules_version": live.version, "changed": changed})


@router.post(
    "/v1/admin/models/{version}:publish",
    response_model=Published,
    responses=ERROR_RESPONSES,
    tags=["admin"],
    summary="Load a trained model's artifact into the store and switch serving to it atomically",
)
async def publish_model(request: Request, version: str) -> Response:
    """Publish ``<artifact_root>/<version>``."""
    state = _admin(request)
    check_version(version)
    publication = await anyio.to_thread.run_sync(load_for_publish, state.settings.artifact_root, version)
    await publish(state.store, publication)
    previous = await state.store.previous_version()
    return _json(
        {
            "model_version": publication.version,
            "previous_version": previous,
            "members": len(publication.records),
        }
    )


@router.post(
    "/v1/admin/models:rollback",
    response_model=Published,
    responses=ERROR_RESPONSES,
    tags=["admin"],
    summary="Serve the previous model version again",
)
async def rollback_model(request: Request) -> Response:
    """Swap the current and previous model versions."""
    state = _admin(request)
    current = await state.store.rollback()
    return _json({"model_version": current, "previous_version": await state.store.previous_version()})


@router.get(
    "/v1/admin/counters",
    response_model=Counters,
    responses=ERROR_RESPONSES,
    tags=["admin"],
    summary="Store-wide decision counters",
)
async def counters(request: Request) -> Response:
    """Counters summed over every process sharing the store."""
    state = _admin(request)
    return _json({"counters": await state.store.counters()})
