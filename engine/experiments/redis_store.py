"""The Redis option of the event store: events appended to streams, state in hashes and sets.

Layout under ``<prefix>:``

    exposures / purchases / opt_outs   streams: the durable, ordered event log (``event`` = JSON)
    ids:<table>                        hash event_id -> canonical JSON (exactly-once, conflict check)
    challenges                         hash "<member>|<week>" -> challenge JSON
    served                             hash "<member>|<week>" -> the answer first served (API JSON)
    bought:<member>:<week>             set of items bought in the week
    bought_cat:<member>:<week>         hash category -> first product of it bought in the week (the
                                       stretch pick is a category: any product of it counts)
    opt_state                          hash member -> "<order>#<kind>" of the latest opt-out/opt-in
    rewards                            hash "<member>|<week>" -> reward JSON (HSETNX: issued once)
    locks                              hash "<experiment>|<salt>" -> assignment fingerprint

Each write is one Lua script, so an event and its effects land together or not at all, and the
reward check is atomic with its ``HSETNX``. Durability is the server's: run Redis with AOF
(``appendonly yes``, ``appendfsync everysec`` or ``always``) for "nothing lost on restart".

On a Redis Cluster (or with ``buckets`` > 1) every key above except ``locks`` exists once per bucket of
members, under ``<prefix>:{b<k>}:`` (:mod:`engine.redis_slots`), so each script touches one member's
bucket: one hash slot. Tables and counts are read as the union over the buckets (streams keep their order
within a bucket; the analysis sorts). Exactly-once by event id then holds per member: the same id sent
for two different members lands in two buckets and is not seen as a conflict (on one node it is).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
import redis

from engine.errors import ConfigError, Conflict, ExperimentError, OfferEngineError
from engine.experiments.definition import ExperimentDefinition, LockMemo
from engine.experiments.events import (
    SIGNAL_KINDS,
    ExposureEvent,
    OptOutEvent,
    Progress,
    PurchaseEvent,
    pick_progress,
    signal_order,
)
from engine.experiments.redis_scripts import APPEND, COMPLETE, EXPOSE_SCRIPT, LOCK, SIGNAL
from engine.experiments.redis_writer import WireExposures
from engine.experiments.store import TABLE_COLUMNS
from engine.experiments.writers import ThreadWriter
from engine.redis_config import RedisConnection
from engine.redis_connect import close_sync, sync_client, wire_client
from engine.redis_errors import map_redis_error
from engine.redis_slots import bucket_base, bucket_of
from engine.redis_wire import Wire, WireClient

if TYPE_CHECKING:
    from engine.experiments.protocol import ExposureWriter

_STREAMS = ("exposures", "purchases", "opt_outs")
#: How long serving's exposure writes wait for Redis when the config does not say.
DEFAULT_TIMEOUT_S = 2.0
_BATCH = 5000


def _dump(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


class RedisEventStore:
    """Experiment events in Redis streams and hashes (see the module docstring).

    Parameters
    ----------
    client
        A ``redis.Redis`` connected to the server (``decode_responses`` not required).
    prefix
        Namespace of every key; one per deployment (and per test).
    connection
        Where ``client`` points (cluster, TLS, buckets); None: one node, one bucket, as ``client`` says.
    """

    def __init__(
        self,
        client: redis.Redis | redis.RedisCluster,
        prefix: str,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        connection: RedisConnection | None = None,
    ) -> None:
        # redis-py's return types are unions over its decode modes; this store always reads bytes.
        self._r: Any = client
        self.prefix = prefix
        self.timeout_s = timeout_s
        self._conn = connection
        self._buckets = 1 if connection is None else connection.buckets
        tagged = connection is not None and connection.tagged
        self._bases = [bucket_base(prefix, b, tagged) for b in range(self._buckets)]
        self._append = client.register_script(APPEND)
        self._complete = client.register_script(COMPLETE)
        self._expose = client.register_script(EXPOSE_SCRIPT)
        self._expose_loaded = False
        self._lock_script = client.register_script(LOCK)
        self._signal = client.register_script(SIGNAL)
        self._locks = LockMemo()

    @classmethod
    def from_url(cls, url: str, prefix: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> RedisEventStore:
        """Connect to ``url`` (``redis://host:port/db``); ``timeout_s`` bounds serving's exposure writes."""
        return cls(redis.Redis.from_url(url), prefix, timeout_s)

    @classmethod
    def connect(cls, connection: RedisConnection, prefix: str, timeout_s: float) -> RedisEventStore:
        """Connect as ``connection`` says (one node or a cluster, plain or TLS, buckets).

        Raises :class:`~engine.errors.ConfigError` when the events under ``prefix`` were written with
        another bucket count (they would not be found), and the mapped Redis error when it is away.
        """
        store = cls(sync_client(connection), prefix, timeout_s, connection)
        try:
            store._r.set(store._k("layout"), connection.buckets, nx=True)
            recorded = int(store._r.get(store._k("layout")))
        except redis.RedisError as exc:
            store.close()
            raise store.error(exc, "reading the key layout") from exc
        if recorded != connection.buckets:
            store.close()
            raise ConfigError(
                f"experiment event store {store.path}: events were written with buckets = {recorded}, "
                f"this config has buckets = {connection.buckets}; set it back or use a new prefix"
            )
        return store

    def exposure_writer(self, in_thread: bool) -> ExposureWriter:
        """A worker thread per write, or on the loop a lean pipelined connection to the same server."""
        if in_thread:
            return ThreadWriter(self)
        if self._conn is not None:
            return WireExposures(self, wire_client(self._conn, self.timeout_s, self.timeout_s))
        kwargs = self._r.connection_pool.connection_kwargs
        wire: Wire = WireClient(
            kwargs.get("host", "127.0.0.1"),
            int(kwargs.get("port", 6379)),
            db=int(kwargs.get("db", 0)),
            username=kwargs.get("username"),
            password=kwargs.get("password"),
            timeout_s=self.timeout_s,
            connect_timeout_s=self.timeout_s,
        )
        return WireExposures(self, wire)

    def error(self, exc: BaseException, during: str = "a write") -> OfferEngineError:
        """Our error for a Redis error of this store (:data:`engine.redis_errors.REDIS_ERRORS`)."""
        return map_redis_error(exc, f"experiment event store {self.path}", during)

    @property
    def path(self) -> str:
        """The connection and key prefix, for reports."""
        if self._conn is not None:
            return f"redis {self._conn.location()} prefix {self.prefix}"
        kwargs = self._r.connection_pool.connection_kwargs
        return f"redis://{kwargs.get('host')}:{kwargs.get('port')}/{kwargs.get('db')} prefix {self.prefix}"

    def _k(self, *parts: object) -> str:
        return ":".join([self.prefix, *map(str, parts)])

    def _m(self, member: str, *parts: object) -> str:
        """A key in ``member``'s bucket (one hash slot for everything a member's script touches)."""
        return self._bases[bucket_of(member, self._buckets)] + ":".join(map(str, parts))

    def _all(self, *parts: object) -> list[str]:
        """The key ``parts`` in every bucket."""
        suffix = ":".join(map(str, parts))
        return [base + suffix for base in self._bases]

    def _call(self, fn: Any, keys: list[str], args: list[object]) -> Any:
        try:
            return fn(keys=keys, args=args)
        except redis.RedisError as exc:
            raise self.error(exc) from exc

    def close(self) -> None:
        """Close the connection pool."""
        close_sync(self._r)

    def __enter__(self) -> RedisEventStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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

    def lock_status(self, definition: ExperimentDefinition) -> str:
        """Read-only: not started, locked unchanged, or changed."""
        stored = self._r.hget(self._k("locks"), f"{definition.name}|{definition.salt}")
        if stored is None:
            return "not started"
        if stored.decode() == definition.assignment_fingerprint():
            return "locked, unchanged"
        return "CHANGED since first exposure: give a new salt"

    # -- writes ------------------------------------------------------------------------------------
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
        args = [event.event_id, _dump(record), f"{member}|{event.week}", _dump(challenge), now, served]
        return member, event.week, keys, args

    def served_field(self, member_id: int | str, week: int) -> tuple[str, str]:
        """``(hash key, field)`` of the answer first served to the member for ``week``."""
        return self._m(str(member_id), "served"), f"{member_id}|{week}"

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
        found = _text(reply[3 + n])
        return _shown_progress(member, week, ch, reply[3 : 3 + n], found, bool(reply[2]), bool(reply[1]))

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
            records.append((event, member, item, _dump(record)))
        for start in range(0, len(records), _BATCH):
            chunk = records[start : start + _BATCH]
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
        args: list[object] = [event.event_id, _dump(record), member, order, event.kind]
        return bool(self._call(self._signal, keys, args))

    def opted_out(self, member_id: int | str) -> bool:
        """Whether the member's latest opt-out/opt-in signal is an opt-out."""
        try:
            state = self._r.hget(self._m(str(member_id), "opt_state"), str(member_id))
        except redis.RedisError as exc:
            raise self.error(exc, "reading the opt-out state") from exc
        return state is not None and bytes(state).endswith(b"#opt_out")

    def signal_counts(self, member_id: int | str) -> dict[str, int]:
        """The member's stored signals per kind (counted since the store kept counts)."""
        member = str(member_id)
        try:
            values = self._r.hmget(self._m(member, "signal_counts"), [f"{member}#{k}" for k in SIGNAL_KINDS])
        except redis.RedisError as exc:
            raise self.error(exc, "reading the member's signals") from exc
        return {k: int(v) for k, v in zip(SIGNAL_KINDS, values, strict=True) if v is not None}

    # -- reads -------------------------------------------------------------------------------------
    def served_challenge(self, member_id: int | str, week: int) -> str | None:
        """The answer first served to the member for ``week`` (JSON), if it was recorded."""
        try:
            raw = self._r.hget(*self.served_field(member_id, week))
        except redis.RedisError as exc:
            raise self.error(exc) from exc
        return None if raw is None else bytes(raw).decode()

    def progress(self, member_id: int | str, week: int) -> Progress:
        """The member's challenge progress for the week."""
        return self._progress(str(member_id), week, False)

    def _progress(self, member: str, week: int, issued_now: bool) -> Progress:
        raw = self._r.hget(self._m(member, "challenges"), f"{member}|{week}")
        if raw is None:
            return Progress(member_id=member, week=week)
        ch = json.loads(raw)
        if not ch["shown"]:
            return Progress(member_id=member, week=week, experiment=ch["experiment"], arm=ch["arm"])
        flags = self._r.smismember(self._m(member, "bought", member, week), ch["item_ids"])
        category = ch.get("stretch_category")
        found = None
        if category is not None:
            found = _text(self._r.hget(self._m(member, "bought_cat", member, week), category))
        reward_issued = bool(self._r.hexists(self._m(member, "rewards"), f"{member}|{week}"))
        return _shown_progress(member, week, ch, flags, found, reward_issued, issued_now)

    def _stream(self, name: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for key in self._all(name):
            start = "-"
            while True:
                batch = self._r.xrange(key, min=start, count=_BATCH)
                out += [json.loads(fields[b"event"]) for _, fields in batch]
                if len(batch) < _BATCH:
                    break
                start = "(" + batch[-1][0].decode()
        return out

    def _hash(self, name: str) -> list[dict[str, Any]]:
        rows = []
        for key in self._all(name):
            for field, value in self._r.hgetall(key).items():
                member, week = field.decode().rsplit("|", 1)
                rows.append({"member_id": member, "week": int(week), **json.loads(value)})
        return rows

    def table(self, name: str) -> pd.DataFrame:
        """A whole table, columns as in ``TABLE_COLUMNS`` (item ids of challenges as JSON text)."""
        if name not in TABLE_COLUMNS:
            raise ExperimentError(f"unknown event table {name!r} (known: {sorted(TABLE_COLUMNS)})")
        rows = self._stream(name) if name in _STREAMS else self._hash(name)
        frame = pd.DataFrame(rows, columns=list(TABLE_COLUMNS[name]))
        if name == "challenges":
            frame["item_ids"] = [None if v is None else json.dumps(v) for v in frame["item_ids"]]
            # Absent before categories counted (and for no-offers): None, as SQLite reads NULL.
            frame["stretch_category"] = [v if isinstance(v, str) else None for v in frame["stretch_category"]]
        return frame

    def counts(self) -> dict[str, int]:
        """Rows per table (summed over the buckets)."""

        def total(command: str, name: str) -> int:
            return sum(int(getattr(self._r, command)(key)) for key in self._all(name))

        return {
            "assignment_locks": int(self._r.hlen(self._k("locks"))),
            "exposures": total("xlen", "exposures"),
            "challenges": total("hlen", "challenges"),
            "purchases": total("xlen", "purchases"),
            "rewards": total("hlen", "rewards"),
            "opt_outs": total("xlen", "opt_outs"),
        }


def _text(value: Any) -> str | None:
    """A script's or read's reply as text; None for nothing (``nil`` or the scripts' ``''``)."""
    if value is None or value in (b"", ""):
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def _shown_progress(
    member: str,
    week: int,
    ch: dict[str, Any],
    flags: Sequence[Any],
    category_item: str | None,
    reward_issued: bool,
    issued_now: bool,
) -> Progress:
    """Progress of a shown challenge record ``ch``: ``flags[k]`` says whether pick ``k``'s own item was
    bought, ``category_item`` is the first product of the stretch category bought (if any).

    One construction for both reads: the exposure script's reply and a plain progress read.
    """
    items: list[str] = ch["item_ids"]
    picks = pick_progress(items, [bool(f) for f in flags], ch.get("stretch_category"), category_item)
    return Progress(
        member_id=member,
        week=week,
        experiment=ch["experiment"],
        arm=ch["arm"],
        offered=True,
        picks=picks,
        completed=all(p.bought for p in picks),
        reward_issued=reward_issued,
        reward_cost=ch["reward_cost"],
        reward_issued_now=issued_now,
    )
