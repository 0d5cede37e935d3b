"""Prometheus metrics of one service process (requests are timed by :mod:`engine.serve.hotpath`).

Each app gets its own registry, so several apps in one process (tests) never clash. Label children are
cached: looking one up per request would cost more than the observation itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest


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
