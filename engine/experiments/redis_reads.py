"""The read side of the Redis event store: progress, served answers, member signals, tables and counts.

Tables and counts are the union over the buckets of members (:mod:`engine.experiments.redis_layout`);
streams keep their order within a bucket and the analysis sorts. :func:`shown_progress` is the one
construction of a shown challenge's progress, shared with the exposure script's reply
(:mod:`engine.experiments.redis_writes`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pandas as pd
import redis

from engine.errors import ExperimentError
from engine.experiments.definition import ExperimentDefinition
from engine.experiments.events import SIGNAL_KINDS, Progress, pick_progress
from engine.experiments.redis_layout import BATCH, STREAMS, RedisLayout
from engine.experiments.store import TABLE_COLUMNS


class RedisReads(RedisLayout):
    """Reads of the Redis event store (see :class:`~engine.experiments.redis_store.RedisEventStore`)."""

    def lock_status(self, definition: ExperimentDefinition) -> str:
        """Read-only: not started, locked unchanged, or changed."""
        stored = self._r.hget(self._k("locks"), f"{definition.name}|{definition.salt}")
        if stored is None:
            return "not started"
        if stored.decode() == definition.assignment_fingerprint():
            return "locked, unchanged"
        return "CHANGED since first exposure: give a new salt"

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
            found = text(self._r.hget(self._m(member, "bought_cat", member, week), category))
        reward_issued = bool(self._r.hexists(self._m(member, "rewards"), f"{member}|{week}"))
        return shown_progress(member, week, ch, flags, found, reward_issued, issued_now)

    def _stream(self, name: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for key in self._all(name):
            start = "-"
            while True:
                batch = self._r.xrange(key, min=start, count=BATCH)
                out += [json.loads(fields[b"event"]) for _, fields in batch]
                if len(batch) < BATCH:
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
        rows = self._stream(name) if name in STREAMS else self._hash(name)
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


def text(value: Any) -> str | None:
    """A script's or read's reply as text; None for nothing (``nil`` or the scripts' ``''``)."""
    if value is None or value in (b"", ""):
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def shown_progress(
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
