"""Prometheus metrics of one service process, and the ASGI middleware that times every request.

Each app gets its own registry, so several apps in one process (tests) never clash. Label children are
cached: looking one up per request would cost more than the observation itself.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED = "<unmatched>"


class Metrics:
    """Request latency, decisions issued, no-offer reasons, store outages and rules reloads."""

    def __init__(self, latency_buckets_s: Sequence[float]) -> None:
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "offers_request_seconds",
            "HTTP request latency in seconds, by route template, method and status",
            ["route", "method", "status"],
            buckets=tuple(latency_buckets_s),
            registry=self.registry,
        )
        self.decisions = Counter(
            "offers_decisions_total",
            "Challenges newly issued by this process, by status (issued | no_offer) and cold start",
            ["status", "cold_start"],
            registry=self.registry,
        )
        self.no_offer = Counter(
            "offers_no_offer_total",
            "No-offer decisions by reason code",
            ["reason"],
            registry=self.registry,
        )
        self.store_unavailable = Counter(
            "offers_store_unavailable_total",
            "Requests answered 503 because the online store could not be reached",
            registry=self.registry,
        )
        self.rules_reloads = Counter(
            "offers_rules_reloads_total",
            "Admin rules reloads by result (changed | unchanged | refused)",
            ["result"],
            registry=self.registry,
        )
        self._children: dict[tuple[str, str, int], Histogram] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """Record one request's latency."""
        key = (route, method, status)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.latency.labels(route, method, str(status))
        child.observe(seconds)

    def decision(self, status: str, reason_code: str, cold_start: bool) -> None:
        """Count one newly stored decision."""
        self.decisions.labels(status, "true" if cold_start else "false").inc()
        if status == "no_offer":
            self.no_offer.labels(reason_code).inc()

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes."""
        return generate_latest(self.registry)


class LatencyMiddleware:
    """Pure ASGI middleware (no per-request task or body buffering) observing each HTTP request."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Time the request from arrival to the end of the app's handling."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def timed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", UNMATCHED)
            self.metrics.observe(path, scope["method"], status, time.perf_counter() - start)
