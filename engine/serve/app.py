"""The FastAPI app factory: ``create_app(settings, store=None)``.

Everything the app needs is built here from its arguments (no globals), so tests can run several apps
with different stores side by side. One exception handler turns every engine error into
``{"error": ..., "detail": ...}`` with the error's HTTP status; malformed requests get a 422 naming each
bad field; anything unexpected is logged and answered with a plain 500 body.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson
from fastapi import Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from engine.errors import OfferEngineError
from engine.messages import Composer, load_messages_config
from engine.redaction import redact, redact_value
from engine.serve.auth import KeyRing
from engine.serve.calendar import WeekCalendar
from engine.serve.deps import known_query_only
from engine.serve.displayed import router as displayed_router
from engine.serve.embedded import EmbeddedStore
from engine.serve.experiment import ExperimentRuntime
from engine.serve.hotpath import HotPath, render_error
from engine.serve.issuance import ArmAssigner, ExposureHook, Issuer, no_arm, no_exposure
from engine.serve.metrics import Metrics
from engine.serve.openapi import state_bounds
from engine.serve.programme_routes import router as programme_router
from engine.serve.recovery import Recovery
from engine.serve.redis_store import RedisStore
from engine.serve.routes import router
from engine.serve.rules_watch import RulesWatcher
from engine.serve.settings import Settings, settings_from_environment
from engine.serve.state import ServeState
from engine.serve.store import Store

log = logging.getLogger(__name__)

DAY_S = 86_400
_STATUS_NAMES = {401: "Unauthorized", 404: "NotFound", 405: "MethodNotAllowed", 413: "TooLarge"}


def build_store(settings: Settings) -> Store:
    """The store ``settings.store`` describes."""
    if settings.store.type == "redis":
        return RedisStore(settings.store)
    return EmbeddedStore(settings.embedded)


def _error(status: int, error: str, detail: object) -> Response:
    body = orjson.dumps({"error": error, "detail": redact_value(detail)}, default=lambda v: redact(str(v)))
    return Response(body, status_code=status, media_type="application/json")


def _validation_message(exc: RequestValidationError) -> str:
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ())) or "request"
        got = f" (got {err['input']!r})" if "input" in err and err.get("type") != "missing" else ""
        problems.append(f"{where}: {err.get('msg', 'invalid')}{got}")
    return "; ".join(problems)


def _install_handlers(app: FastAPI, metrics: Metrics) -> None:
    async def engine_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, OfferEngineError)
        status, body = render_error(exc, metrics, request.url.path)
        return Response(body, status_code=status, media_type="application/json")

    async def bad_request(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return _error(422, "BadRequest", _validation_message(exc))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        name = _STATUS_NAMES.get(exc.status_code, "HTTPError")
        return _error(exc.status_code, name, exc.detail)

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", extra={"path": request.url.path})
        return _error(500, "InternalError", "internal error; the service log has the details")

    app.add_exception_handler(OfferEngineError, engine_error)
    app.add_exception_handler(RequestValidationError, bad_request)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)


def create_app(
    settings: Settings,
    store: Store | None = None,
    *,
    assign_arm: ArmAssigner = no_arm,
    on_exposure: ExposureHook = no_exposure,
    experiments: ExperimentRuntime | None = None,
) -> FastAPI:
    """Build the service.

    Parameters
    ----------
    settings
        From :func:`engine.serve.settings.load_settings`.
    store
        Use this store instead of the one ``settings`` describes (the caller then closes it).
    assign_arm, on_exposure
        Experiment hooks: the arm of a (member, week) and what to do on each new issuance (ignored when
        an experiment runtime is in use).
    experiments
        Use this runtime instead of the one ``settings.experiments`` describes (the caller closes it).

    Raises
    ------
    RulesError
        The rules file is invalid at start-up (there are no last good rules to fall back to).
    ConfigError
        An API key is too short, or two keys share a name or a secret.
    ExperimentError, ConfigError
        An experiment definition is invalid, or two overlap.
    """
    owns_runtime = experiments is None and settings.experiments is not None
    if experiments is None and settings.experiments is not None:
        experiments = ExperimentRuntime.from_config(settings.experiments)
    progress_of = opted_out = recall = signals_of = None
    if experiments is not None:
        signals_of = experiments.member_signals
        assign_arm, on_exposure, progress_of, opted_out, recall = (
            experiments.assign,
            experiments.record,
            experiments.progress_json,
            experiments.opted_out,
            experiments.recall,
        )
    owns_store = store is None
    store = build_store(settings) if store is None else store
    rules = RulesWatcher(settings.rules_path, settings.rules_check_interval_s)
    calendar = WeekCalendar(settings.calendar)
    metrics = Metrics(settings.metrics.latency_buckets_s, settings.metrics.multiprocess_dir)
    recovery = Recovery(settings, store, rules)
    messages = settings.messages_path
    issuer = Issuer(
        store=store,
        rules=rules,
        calendar=calendar,
        retention_s=settings.issuance.retention_days * DAY_S,
        history_retention_s=settings.issuance.history_retention_days * DAY_S,
        cold_start_per_week=settings.issuance.cold_start_per_week,
        assign_arm=assign_arm,
        on_exposure=on_exposure,
        progress_of=progress_of,
        opted_out=opted_out,
        signals_of=signals_of,
        when_empty=recovery.store_empty,
        recall=recall,
        tiers=store,
        compose_message=None if messages is None else Composer(load_messages_config(messages)),
    )
    keys = KeyRing(settings.auth, settings.admin_api_key)
    state = ServeState(
        settings, store, rules, calendar, metrics, issuer, owns_store, keys, experiments, recovery
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await recovery.start()
        # Everything built so far lives as long as the process: keep the cyclic GC from rescanning it
        # (its full collections were the largest latency spikes under load).
        gc.collect()
        gc.freeze()
        if keys.reads_open:
            log.warning(
                "challenge reads are anonymous: no API key holds the read scope (set one in "
                "OFFERS_AUTH__KEYS to close reads and batch calls to the app backend)"
            )
        log.info(
            "service ready",
            extra={"store": settings.store.type, "rules_version": rules.live.version},
        )
        yield
        await recovery.close()
        if state.owns_store:
            await state.store.close()
        if owns_runtime and experiments is not None:
            await experiments.aclose()

    app = FastAPI(
        title="Offer engine",
        summary="Personalized weekly star challenges for loyalty members",
        version="1",
        lifespan=lifespan,
        dependencies=[Depends(known_query_only)],
    )
    app.state.serve = state
    app.include_router(router)
    app.include_router(programme_router)  # POST .../challenge/choice: the member's pick
    app.include_router(displayed_router)  # POST .../challenge/displayed: exposure when shown
    state_bounds(app, settings)
    _install_handlers(app, metrics)
    app.add_middleware(HotPath, state=state)
    return app


def app_from_environment() -> FastAPI:
    """uvicorn factory for worker processes: settings from ``OFFERS_*`` (see ``offers serve --workers``)."""
    from engine.serve.logs import configure_logging

    settings = settings_from_environment()
    configure_logging(settings.log_level)
    return create_app(settings)
