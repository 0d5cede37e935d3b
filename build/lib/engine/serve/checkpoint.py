"""WAL checkpoints of the embedded store's file, off the event loop.

SQLite in WAL mode copies the log back into the database file every ``wal_autocheckpoint`` pages, on the
connection that happens to commit then, and with ``synchronous = NORMAL`` that checkpoint waits for the
disk twice (WAL and database fsync). On the request path that is a stall: measured here, a commit cost
~160 us of wall time with automatic checkpoints against ~55 us without. So the store turns automatic
checkpoints off and this thread runs a ``PASSIVE`` checkpoint (never blocks writers or readers) on a
connection of its own every ``interval_s``.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)


class Checkpointer:
    """A daemon thread checkpointing ``path`` every ``interval_s`` until :meth:`stop`."""

    def __init__(self, path: Path, interval_s: float) -> None:
        self._path = path
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"checkpoint {path.name}", daemon=True)

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and wait for it (a checkpoint in progress finishes first)."""
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        try:
            while not self._stop.wait(self._interval_s):
                try:
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                except sqlite3.Error as exc:
                    # The next try may succeed; meanwhile the WAL only grows (nothing is lost).
                    log.warning("WAL checkpoint of %s failed: %s", self._path, exc)
        finally:
            db.close()
