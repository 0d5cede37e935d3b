"""A member's offer history, and serving again an answer the online store lost.

History blob (stored per member with each issuance): ``{"s": {stretch category: week}, "l": last offer
week}``; frequency caps and stretch-repeat rules read it at the next issuance.

:func:`restore_served`: when the online store has no challenge for (member, week) but the experiment event
store recorded the answer first served (Redis restarted without persistence, a key deleted), that answer
is stored again, byte for byte, so the app, progress and reward agree.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Awaitable, Callable

import orjson

from engine.challenge import MemberHistory
from engine.serve.store import BudgetClaim, IssueStore

log = logging.getLogger(__name__)

#: ``(member_id, week) -> the answer first served`` as recorded outside the online store (experiments).
RecallHook = Callable[[str, int], Awaitable[bytes | None]]
#: A budget claim that always fits (re-spending the cost of a restored challenge, never refusing it).
UNLIMITED = sys.float_info.max
#: Counters a restored answer bumps (it is not a new decision).
RESTORED = "restored"


def history_of(blob: bytes | None) -> MemberHistory:
    """The member's offer history from its stored blob (empty: never offered)."""
    if not blob:
        return MemberHistory()
    raw = orjson.loads(blob)
    return MemberHistory(stretch_weeks=raw.get("s", {}), last_offer_week=raw.get("l"))


def next_history(before: MemberHistory, status: str, category: str | None, week: int) -> bytes | None:
    """The history blob after an answer of ``status`` in ``week`` (None: a no-offer changes nothing)."""
    if status != "issued":
        return None
    stretch = dict(before.stretch_weeks)
    if category is not None:
        stretch[category] = week
    return orjson.dumps({"s": stretch, "l": week})


async def restore_served(
    store: IssueStore,
    recall: RecallHook,
    member_id: str,
    week: int,
    history: bytes | None,
    retention_s: int,
    history_retention_s: int,
) -> bytes | None:
    """Store again the answer first served to the member for ``week``, if it was recorded; what is stored.

    Issue-once like a new issuance (a concurrent one wins or loses the same way), with its history (so
    caps hold next week) and its expected cost spent again: the budget counter may have been lost with
    the record, and counting a cost twice only refuses offers, where not counting it could overspend.
    """
    payload = await recall(member_id, week)
    if payload is None:
        return None
    body = orjson.loads(payload)
    stretch = body.get("stretch")
    category = stretch.get("category") if isinstance(stretch, dict) else None
    cost = float(body.get("expected_cost") or 0.0)
    result = await store.issue_once(
        week,
        member_id,
        payload,
        retention_s,
        [RESTORED, f"{RESTORED}:w{week}"],
        history=next_history(history_of(history), str(body.get("status")), category, week),
        history_ttl_s=history_retention_s,
        budget=BudgetClaim(week, cost, UNLIMITED) if cost > 0 else None,
    )
    if result.won:
        log.warning(
            "challenge restored from the experiment event store (the online store had lost it)",
            extra={"member_id": member_id, "week": week},
        )
    return result.payload
