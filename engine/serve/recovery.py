"""A model in the store without a human: published at start-up, republished when the store comes back empty.

:class:`Recovery` owns the one path that publishes the champion (``<artifact_root>/CHAMPION``) on its
own: at start-up (``publish_on_start``) and, with ``republish_when_empty``, whenever a request or the
readiness probe finds no model version in the store (Redis restarted without persistence, or flushed).
The republish runs in the background, one at a time, at most once every ``republish_retry_s``; until it
is done requests get a 503 saying what is happening, and so does ``/readyz``.

It also tells at start-up whether the store keeps its data across a restart of its own
(:meth:`~engine.serve.store.Store.durability`): a warning in the log and in ``/readyz``.
"""

from __future__ import annotations

import asyncio
import logging
import time

import anyio.to_thread

from engine.champion import champion_version
from engine.errors import NotFound, OfferEngineError, StoreUnavailable
from engine.serve.issuance import no_model
from engine.serve.publish import load_for_publish, publish
from engine.serve.rules_watch import RulesWatcher
from engine.serve.settings import Settings
from engine.serve.store import Store

log = logging.getLogger(__name__)


class Recovery:
    """Publishes the champion when the store has none; see the module docstring."""

    def __init__(self, settings: Settings, store: Store, rules: RulesWatcher) -> None:
        self._settings = settings
        self._store = store
        self._rules = rules
        #: Why the champion could not be published at start-up (a bad artifact), until one is published.
        self.problem: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._next_try = 0.0
        #: What recovery is doing or last failed at (None: nothing to report).
        self.status: str | None = None
        #: The store's durability warning (None: it keeps its data, or not checked yet).
        self.durability: str | None = None
        self._durability_known = False

    async def start(self) -> None:
        """Publish at start-up as ``publish_on_start`` says, and check the store's durability."""
        await self.check_durability()
        mode = self._settings.publish_on_start
        if mode == "never":
            return
        try:
            if mode == "if_empty" and await self._store.current_version() is not None:
                return
            await self._publish_champion()
        except NotFound as exc:
            log.warning("no model published at start-up: %s", exc.message)
        except OfferEngineError as exc:
            # Start anyway (a bad champion must not keep the service down): /readyz says not ready, and
            # why, until a model is published.
            self.problem = f"publishing the champion at start-up failed: {exc.message}"
            log.error("%s", self.problem)

    async def check_durability(self) -> str | None:
        """The store's durability warning, asked once it can answer (logged the first time)."""
        if self._durability_known:
            return self.durability
        try:
            self.durability = await self._store.durability()
        except StoreUnavailable:
            return None  # asked again when the store answers
        self._durability_known = True
        if self.durability is not None:
            log.warning("store durability: %s", self.durability, extra={"store": self._settings.store.type})
        return self.durability

    def store_empty(self) -> str:
        """The store has no model version: start a republish if allowed; the sentence saying what happens."""
        if self._settings.republish_when_empty and (self._task is None or self._task.done()):
            now = time.monotonic()
            if now >= self._next_try:
                self._next_try = now + self._settings.republish_retry_s
                self.status = "republishing champion after store came back empty"
                self._task = asyncio.get_running_loop().create_task(self._republish())
        return "; ".join(m for m in (self.problem, self.status) if m) or no_model()

    async def close(self) -> None:
        """Stop a republish still running (at shutdown)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _republish(self) -> None:
        try:
            if await self._store.current_version() is not None:
                self.status = None  # someone published meanwhile
                return
            version = await self._publish_champion()
        except OfferEngineError as exc:
            self.status = (
                f"republishing champion after store came back empty failed: {exc.message}; "
                f"next try in {self._settings.republish_retry_s:g}s"
            )
            log.error("%s", self.status)
            return
        self.status = self.problem = None
        log.warning("champion %s republished after the store came back empty", version)

    async def _publish_champion(self) -> str:
        version = champion_version(self._settings.artifact_root)
        publication = await anyio.to_thread.run_sync(
            load_for_publish, self._settings.artifact_root, version, self._rules.current().rules
        )
        await publish(self._store, publication)
        self.problem = None
        return version
