"""Prometheus metrics of the service (requests are timed by :mod:`engine.serve.hotpath`).

Each app gets its own registry, so several apps in one process (tests) never clash. Label children are
cached: looking one up per request would cost more than the observation itself.

Several workers (``workers`` > 1): each worker process writes its values to files in one folder
(prometheus_client's multiprocess mode; ``offers serve`` makes the folder, empties it and names it in
``PROMETHEUS_MULTIPROC_DIR`` before the workers start, as the library requires), and ``/metrics``, whichever
worker answers it, adds up every worker's files: counts and histograms are those of the whole service.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, values
from prometheus_client.multiprocess import MultiProcessCollector

from engine.errors import ConfigError

#: The environment variable prometheus_client reads (at import) to write values to files.
MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_ready() -> bool:
    """Whether prometheus_client was imported in multiprocess mode (values kept in files)."""
    return values.ValueClass is not values.MutexValue


def reset_multiprocess_dir(folder: Path) -> None:
    """Create ``folder`` and remove the value files a previous run left (before any worker starts)."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()


class Metrics:
    """Request latency, decisions issued, no-offer reasons, store outages and rules reloads."""

    def __init__(self, latency_buckets_s: Sequence[float], multiprocess_dir: Path | None = None) -> None:
        if multiprocess_dir is not None and not multiprocess_ready():
            raise ConfigError(
                f"metrics.multiprocess_dir is {multiprocess_dir}, but {MULTIPROC_VARIABLE} was not set when "
                "this process started: set both to the same folder (offers serve does so for workers > 1)"
            )
        self.multiprocess_dir = multiprocess_dir
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
        """The text format Prometheus scrapes (every worker's values added up in multiprocess mode)."""
        if self.multiprocess_dir is None:
            return generate_latest(self.registry)
        merged = CollectorRegistry()
        MultiProcessCollector(merged, path=str(self.multiprocess_dir))  # type: ignore[no-untyped-call]
        return generate_latest(merged)
