"""The write side of the Redis event store: assignment locks, exposures, purchases and member signals.

Each write is one Lua script (:mod:`engine.experiments.redis_scripts`), so an event and its effects land
together or not at all, and the reward check is atomic with its ``HSETNX``. Durability is the server's:
run Redis with AOF (``appendonly yes``, ``appendfsync everysec`` or ``always``) for "nothing lost on
restart". Exactly-once by event id holds per member: the same id sent for two different members lands in
two buckets and is not seen as a conflict (on one node it is).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import redis

from engine.errors import Conflict, ExperimentError
from engine.experiments.definition import ExperimentDefinition, LockMemo
from engine.experiments.events import ExposureEvent, OptOutEvent, Progress, PurchaseEvent, signal_order
from engine.experiments.redis_layout import BATCH, DEFAULT_TIMEOUT_S, dump
from engine.experiments.redis_reads import RedisReads, shown_progress, text
from engine.experiments.redis_scripts import APPEND, COMPLETE, EXPOSE_SCRIPT, LOCK, SIGNAL
from engine.redis_config import RedisConnection


class RedisWrites(RedisReads):
    """Writes of the Redis event store (see :class:`~engine.experiments.redis_store.RedisEventStore`).

    Parameters as :class:`~engine.experiments.redis_layout.RedisLayout`; registers the scripts.
    """

    def __init__(
        self,
        client: redis.Redis | redis.RedisCluster,
        prefix: str,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        connection: RedisConnection | None = None,
    ) -> None:
        super().__init__(client, prefix, timeout_s, connection)
        self._append = client.register_script(APPEND)
        self._complete = client.register_script(COMPLETE)
        self._expose = client.register_script(EXPOSE_SCRIPT)
        self._expose_loaded = False
        self._lock_script = client.register_script(LOCK)
        self._signal = client.register_script(SIGNAL)
        self._locks = LockMemo()

    # -- assignment lock ---------------------------------------------------------------------------
    def ensure_assignment_lock(self, definition: ExperimentDefinition) -> None:
        """Record the assignment fingerprint, or refuse a changed one under the same salt."""
        fingerprint = self._locks.pending(definition)
        if fingerprint is None:
            return
        field = f"{definition.name}|{definition.salt}"
        stored = self._call(self._lock_script, [self._k("locks")], [field, fingerprint])
        if (stored.decode() if isinstance(stored, bytes) else stored) != fingerprint:
            raise ExperimentError(
                f"experiment {definition.name!r}: arms or weights changed after exposures began; "
                "members would move between arms. Give the experiment a new salt to start a new assignment."
            )
        self._locks.confirm(definition, fingerprint)

    # -- exposures ---------------------------------------------------------------------------------
    def _check(self, member: str, week: int) -> int:
        keys = [
            self._m(member, "challenges"),
            self._m(member, "bought", member, week),
            self._m(member, "rewards"),
            self._m(member, "bought_cat", member, week),
        ]
        return int(self._call(self._complete, keys, [f"{member}|{week}", datetime.now(UTC).isoformat()]))

    def add_exposure(self, event: ExposureEvent) -> Progress:
        """Store an exposure and the week's challenge; returns the progress."""
        answer = self.add_exposures([event])[0]
        if isinstance(answer, Conflict):
            raise answer
        return answer

    def add_exposures(self, events: Sequence[ExposureEvent]) -> list[Progress | Conflict]:
        """Store many exposures in one round trip (a pipeline of one script call each; group commit).

        Each exposure is atomic on its own; a conflicting one is answered by its :class:`Conflict`.
        """
        calls = [self.exposure_command(event) for event in events]
        replies = self._pipeline(calls)
        if any(isinstance(r, redis.exceptions.NoScriptError) for r in replies):
            # The server lost its script cache (restart): load again and replay; the writes are
            # idempotent by event id, so the calls that did run answer the same the second time.
            self._expose_loaded = False
            replies = self._pipeline(calls)
        out: list[Progress | Conflict] = []
        for (member, week, _, _), reply in zip(calls, replies, strict=True):
            if isinstance(reply, redis.ResponseError):
                error = self.error(reply, "an exposure")
                if not isinstance(error, Conflict):
                    raise error
                out.append(error)
                continue
            out.append(self.exposure_progress(member, week, reply))
        return out

    @property
    def expose_sha(self) -> str:
        """SHA1 of ``EXPOSE_SCRIPT``, for ``EVALSHA`` on another connection."""
        return str(self._expose.sha)

    def exposure_command(self, event: ExposureEvent) -> tuple[str, int, list[str], list[str]]:
        """``(member, week, keys, args)`` of the ``EXPOSE_SCRIPT`` call that stores ``event``."""
        member = str(event.member_id)
        snapshot = event.challenge if event.challenge is not None else event.shadow
        challenge = {
            "experiment": event.experiment,
            "salt": event.salt,
            "arm": event.arm,
            "item_ids": None if snapshot is None else list(snapshot.item_ids),
            "shown": int(event.challenge is not None),
            "reward_cost": 0.0 if snapshot is None else snapshot.reward_cost,
        }
        if snapshot is not None and snapshot.stretch_category is not None:
            # Only when present: a challenge stored before categories keeps its exact JSON.
            challenge["stretch_category"] = snapshot.stretch_category
        record = {
            "event_id": event.event_id,
            "experiment": event.experiment,
            "salt": event.salt,
            "arm": event.arm,
            "member_id": member,
            "week": event.week,
        }
        keys = [
            self._m(member, "ids", "exposures"),
            self._m(member, "exposures"),
            self._m(member, "challenges"),
            self._m(member, "bought", member, event.week),
            self._m(member, "rewards"),
            self._m(member, "bought_cat", member, event.week),
            self._m(member, "served"),
        ]
        now = datetime.now(UTC).isoformat()
        served = event.served or ""
        args = [event.event_id, dump(record), f"{member}|{event.week}", dump(challenge), now, served]
        return member, event.week, keys, args

    def _pipeline(self, calls: Sequence[tuple[str, int, list[str], list[str]]]) -> list[Any]:
        try:
            if not self._expose_loaded:
                self._r.script_load(EXPOSE_SCRIPT)
                self._expose_loaded = True
            pipe = self._r.pipeline(transaction=False)
            for _, _, keys, args in calls:
                pipe.execute_command("EVALSHA", self._expose.sha, len(keys), *keys, *args)
            return list(pipe.execute(raise_on_error=False))
        except redis.RedisError as exc:
            raise self.error(exc, "exposures") from exc

    @staticmethod
    def exposure_progress(member: str, week: int, reply: list[Any]) -> Progress:
        """The :class:`Progress` of an ``EXPOSE_SCRIPT`` reply (see the script for its layout)."""
        ch = json.loads(reply[0])
        if not ch["shown"]:
            return Progress(member_id=member, week=week, experiment=ch["experiment"], arm=ch["arm"])
        n = len(ch["item_ids"])
        found = text(reply[3 + n])
        return shown_progress(member, week, ch, reply[3 : 3 + n], found, bool(reply[2]), bool(reply[1]))

    # -- purchases and signals ---------------------------------------------------------------------
    def add_purchases(self, events: Iterable[PurchaseEvent]) -> list[Progress]:
        """Store purchases; returns the progress of each member-week touched.

        Each event is atomic. The batch is checked for conflicting ids before anything is written, so
        a conflicting file imports nothing (only a concurrent writer could slip in between).
        """
        records = []
        for event in events:
            member, item = str(event.member_id), str(event.item_id)
            record = {
                "event_id": event.event_id,
                "member_id": member,
                "week": event.week,
                "item_id": item,
                "quantity": event.quantity,
                "sales_value": event.sales_value,
            }
            # Only when present, so events stored before these fields existed keep their content.
            if event.transaction_id is not None:
                record["transaction_id"] = event.transaction_id
            if event.source is not None:
                record["source"] = event.source
            if not event.earns:
                record["earns"] = False
            records.append((event, member, item, dump(record)))
        for start in range(0, len(records), BATCH):
            chunk = records[start : start + BATCH]
            pipe = self._r.pipeline(transaction=False)
            for event, member, _, _ in chunk:  # one key per command: buckets live in different slots
                pipe.hget(self._m(member, "ids", "purchases"), event.event_id)
            stored = pipe.execute()
            for (event, _, _, content), seen in zip(chunk, stored, strict=True):
                if seen is not None and seen.decode() != content:
                    raise Conflict(
                        f"event {event.event_id} already recorded as {seen.decode()}, now {content}"
                    )
        touched: dict[tuple[str, int], None] = {}
        for event, member, item, content in records:
            keys = [
                self._m(member, "ids", "purchases"),
                self._m(member, "purchases"),
                self._m(member, "challenges"),
                self._m(member, "bought", member, event.week),
                self._m(member, "bought_cat", member, event.week),
            ]
            # No challenge to write (empty ARGV[3]); the item joins the week's bought set (KEYS[4]) and
            # its category's first product (KEYS[5]) unless the purchase earns nothing. The category is
            # not part of the event's content: a resend resolved to another category is the same event.
            earning = item if event.earns else ""
            args: list[object] = [event.event_id, content, "", "", earning, event.category or ""]
            self._call(self._append, keys, args)
            touched[(member, event.week)] = None
        return [self._progress(m, w, bool(self._check(m, w))) for m, w in touched]

    def add_opt_out(self, event: OptOutEvent) -> bool:
        """Store a member signal (idempotent by event id); returns whether it was new.

        An opt-out or opt-in also becomes the member's state unless a later one is stored (same script).
        """
        member = str(event.member_id)
        record = {"event_id": event.event_id, "member_id": member, "week": event.week, "kind": event.kind}
        keys = [
            self._m(member, "ids", "opt_outs"),
            self._m(member, "opt_outs"),
            self._m(member, "opt_state"),
            self._m(member, "signal_counts"),
        ]
        order = signal_order(event) if event.kind in ("opt_out", "opt_in") else ""
        args: list[object] = [event.event_id, dump(record), member, order, event.kind]
        return bool(self._call(self._signal, keys, args))
