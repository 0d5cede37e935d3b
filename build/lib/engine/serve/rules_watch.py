"""Live rules: the last good rules file, reloaded when it changes, never replaced by a bad one.

The request path calls :meth:`RulesWatcher.current`, which costs one clock read; at most once per
``interval_s`` it also stats the file and reloads it if its mtime or size changed. A file that fails
validation is logged and ignored (the service keeps the last good rules); the admin reload call gets the
:class:`~engine.errors.RulesError` itself so the marketer sees what is wrong.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from engine.errors import RulesError
from engine.rules.config import RulesConfig, load_rules, rules_version

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LiveRules:
    """One validated rules file and its content version."""

    rules: RulesConfig
    version: str


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


class RulesWatcher:
    """Holds the rules in force and reloads them from ``path``.

    Parameters
    ----------
    path
        The rules TOML file.
    interval_s
        Least time between two file checks on the request path.

    Raises
    ------
    RulesError
        At construction, when there are no good rules to start with.
    """

    def __init__(self, path: Path, interval_s: float) -> None:
        self.path = path
        self.interval_s = interval_s
        self._lock = threading.Lock()
        self._stamp = _stamp(path)
        rules = load_rules(path)
        self._live = LiveRules(rules, rules_version(rules))
        self._next_check = time.monotonic() + interval_s
        self.rejected: str | None = None  # the last refused file's error, for /readyz and logs

    @property
    def live(self) -> LiveRules:
        """The rules in force, without looking at the file."""
        return self._live

    def current(self) -> LiveRules:
        """The rules in force, reloading first if the file changed and the check interval has passed."""
        now = time.monotonic()
        if now >= self._next_check:
            self._next_check = now + self.interval_s
            stamp = _stamp(self.path)
            if stamp != self._stamp:
                # A bad file is logged by reload; keep serving with the last good rules.
                with contextlib.suppress(RulesError):
                    self.reload()
        return self._live

    def reload(self) -> tuple[LiveRules, bool]:
        """Load the file now; returns the rules in force and whether they changed.

        Raises
        ------
        RulesError
            The file is invalid; the rules in force stay as they were.
        """
        with self._lock:
            stamp = _stamp(self.path)
            try:
                rules = load_rules(self.path)
            except RulesError as exc:
                # Remember the stamp so a bad file is reported once, not on every check.
                self._stamp = stamp
                self.rejected = exc.message
                log.error(
                    "rules file refused; serving with the last good rules",
                    extra={
                        "rules_path": str(self.path),
                        "error": exc.message,
                        "rules_version": self._live.version,
                    },
                )
                raise
            self._stamp = stamp
            self.rejected = None
            version = rules_version(rules)
            changed = version != self._live.version
            if changed:
                log.info(
                    "rules reloaded",
                    extra={"rules_path": str(self.path), "old": self._live.version, "new": version},
                )
                self._live = LiveRules(rules, version)
            return self._live, changed
