"""The per-app state routes work with: settings, store, rules, calendar, metrics and the issuer."""

from __future__ import annotations

from dataclasses import dataclass

from engine.errors import NotFound
from engine.serve.auth import KeyRing
from engine.serve.calendar import WeekCalendar
from engine.serve.experiment import ExperimentRuntime
from engine.serve.issuance import Issuer
from engine.serve.metrics import Metrics
from engine.serve.recovery import Recovery
from engine.serve.rules_watch import RulesWatcher
from engine.serve.settings import Settings
from engine.serve.store import Store


@dataclass
class ServeState:
    """Everything a request needs, built once by :func:`engine.serve.app.create_app`."""

    settings: Settings
    store: Store
    rules: RulesWatcher
    calendar: WeekCalendar
    metrics: Metrics
    issuer: Issuer
    owns_store: bool
    keys: KeyRing
    experiments: ExperimentRuntime | None = None
    recovery: Recovery | None = None

    def week(self, week: int | None) -> int:
        """The requested week checked against the served range, or the current week."""
        return self.calendar.current_week() if week is None else self.calendar.check(week)

    def experiment_runtime(self) -> ExperimentRuntime:
        """The experiment runtime, or :class:`NotFound` when no experiment is configured."""
        if self.experiments is None:
            raise NotFound(
                "no experiment is configured on this service (see [experiments] in configs/serve.toml)"
            )
        return self.experiments
