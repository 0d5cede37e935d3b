"""HTTP routes: thin, each one calls a plain function and returns its result.

Challenge bodies are stored as the exact JSON the API returns, so the challenge routes hand stored
bytes straight back (no re-validation on the hot path); ``response_model`` still documents them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Annotated

import anyio.to_thread
import orjson
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import AfterValidator

from engine.errors import BadRequest, NotFound, StoreUnavailable
from engine.serve.deps import MetricsKey, PurchasesAccess, SignalsAccess, requires
from engine.serve.issuance import challenge_for, preview_for
from engine.serve.member_ids import check_member_id
from engine.serve.publish import check_version, load_for_publish, publish
from engine.serve.purchase_categories import categorize
from engine.serve.purchases import admit_purchases
from engine.serve.schemas import (
    ERROR_RESPONSES,
    MEMBER_ID_SCHEMA,
    BatchRequest,
    BatchResponse,
    ChallengePreview,
    ChallengeProgress,
    ChallengeResponse,
    Counters,
    Health,
    Published,
    PurchaseBatch,
    PurchasesAccepted,
    Ready,
    RulesReloaded,
    SignalBatch,
    SignalsAccepted,
)
from engine.serve.signals import admit_signals
from engine.serve.state import ServeState

router = APIRouter()
#: A member id in a URL: the one rule of :mod:`engine.serve.member_ids`, stated in the spec.
MemberIdPath = Annotated[
    str,
    Path(
        description="the loyalty member id (numeric ids without leading zeros)",
        json_schema_extra=MEMBER_ID_SCHEMA,
    ),
    AfterValidator(check_member_id),
]
JSON = "application/json"
#: Route guards by API key scope (each also declares its security scheme in OpenAPI).
READ = [Depends(requires("read"))]
ADMIN = [Depends(requires("admin"))]


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
    dependencies=READ,
)
async def get_challenge(
    request: Request,
    member_id: MemberIdPath,
    week: Annotated[int | None, Query(description="challenge week; default: the current week")] = None,
) -> Response:
    """Return the member's challenge, issuing it first if this is the week's first request."""
    state = _state(request)
    decision = await challenge_for(state.issuer, member_id, state.week(week))
    if decision.new:
        state.metrics.decision(decision.status, decision.reason_code, decision.cold_start)
    return Response(decision.payload, media_type=JSON)


@router.get(
    "/v1/members/{member_id}/challenge:preview",
    response_model=ChallengePreview,
    responses=ERROR_RESPONSES,
    summary="Look up what the member gets this week, with the explanation, without issuing anything",
    tags=["support"],
    dependencies=ADMIN,
)
async def preview_challenge(
    request: Request,
    member_id: MemberIdPath,
    week: Annotated[int | None, Query(description="challenge week; default: the current week")] = None,
) -> Response:
    """Read-only: the issued challenge, or the one that would be issued; no budget, counter or exposure."""
    state = _admin(request)
    decision = await preview_for(state.issuer, member_id, state.week(week))
    issued = b"true" if decision.stored else b"false"
    return Response(b'%b,"issued":%b}' % (decision.payload[:-1], issued), media_type=JSON)


@router.post(
    "/v1/challenges:batch",
    response_model=BatchResponse,
    responses=ERROR_RESPONSES,
    summary="Challenges for many members at once",
    tags=["challenges"],
    dependencies=READ,
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
    summary="Purchase events from the till: update challenge progress; a completed challenge's reward is "
    "issued once",
    tags=["experiments"],
)
async def post_purchases(access: PurchasesAccess, body: PurchaseBatch) -> Response:
    """Store the events that count (idempotent by ``event_id``); list those that earn nothing and why."""
    state = access.state
    runtime = state.experiment_runtime()
    if len(body.events) > runtime.max_events:
        raise BadRequest(f"at most {runtime.max_events} events per batch (got {len(body.events)})")
    now = dt.datetime.now(dt.UTC)
    admitted = admit_purchases(body.events, state.calendar, runtime.purchase_window, now, access.caller)
    # Each item's category from the catalog that issued the challenge: the stretch pick is a category.
    events, unknown = await categorize(admitted.events, admitted.indices, state.store, state.issuer.versions)
    touched = await runtime.ingest(events) if events else []
    not_counted = sorted([*admitted.not_counted, *unknown], key=lambda n: n.index)
    return _json(
        {
            "accepted": len(events),
            "progress": [p.model_dump(mode="json") for p in touched],
            "not_counted": [n.model_dump(mode="json") for n in not_counted],
        }
    )


@router.post(
    "/v1/events/signals",
    response_model=SignalsAccepted,
    responses=ERROR_RESPONSES,
    summary="Negative signals: opt-outs (no more offers), unsubscribes and blocked notifications",
    tags=["experiments"],
)
async def post_signals(access: SignalsAccess, body: SignalBatch) -> Response:
    """Store the signals (idempotent by ``event_id``); an opt-out stops the member's next challenges."""
    state = access.state
    runtime = state.experiment_runtime()
    if len(body.events) > runtime.max_events:
        raise BadRequest(f"at most {runtime.max_events} events per batch (got {len(body.events)})")
    events = admit_signals(body.events, state.calendar)
    new = await runtime.record_signals(events)
    return _json({"accepted": len(events), "new": new})


@router.get(
    "/v1/members/{member_id}/progress",
    response_model=ChallengeProgress,
    responses=ERROR_RESPONSES,
    summary="A member's progress on a week's challenge (picks bought, completed, reward issued)",
    tags=["experiments"],
    dependencies=READ,
)
async def get_progress(
    request: Request,
    member_id: MemberIdPath,
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
async def metrics(request: Request, key: MetricsKey = None) -> Response:
    """Prometheus text exposition of this process's metrics (``[auth] metrics``: open, key or disabled)."""
    state = _state(request)
    if state.keys.metrics == "disabled":
        raise NotFound("/metrics is disabled on this service ([auth] metrics = 'disabled')")
    if state.keys.metrics == "key":
        state.keys.check(key, "metrics")
    return Response(state.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


def _admin(request: Request) -> ServeState:
    # The route's ``dependencies=ADMIN`` has checked the key before the body runs.
    return _state(request)


@router.post(
    "/v1/admin/rules:reload",
    response_model=RulesReloaded,
    responses=ERROR_RESPONSES,
    tags=["admin"],
    summary="Reload the rules file now (a bad file is refused; the last good rules stay)",
    dependencies=ADMIN,
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
    dependencies=ADMIN,
)
async def publish_model(request: Request, version: str) -> Response:
    """Publish ``<artifact_root>/<version>``."""
    state = _admin(request)
    check_version(version)
    publication = await anyio.to_thread.run_sync(
        load_for_publish, state.settings.artifact_root, version, state.rules.current().rules
    )
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
    dependencies=ADMIN,
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
    dependencies=ADMIN,
)
async def counters(request: Request) -> Response:
    """Counters summed over every process sharing the store."""
    state = _admin(request)
    return _json({"counters": await state.store.counters()})
