"""Win-back in serving: restore a member's tier when they complete a win-back challenge.

- :func:`record_restorations` runs after purchase events: for each member-week they completed whose
  answer is a win-back challenge that restores (``winback.restores_tier``), it records the previous
  tier in the store until ``week + restore_weeks`` (:meth:`~engine.serve.programme_store.ProgrammeStore.
  restore_tier`, idempotent: a resend changes nothing).
- :func:`with_restored_tier` gives issuance the member with the restored tier while it holds (then no
  win-back: they are back), so the next weeks' challenges are the restored tier's (issuance reads the
  restoration before assembling: one more store read per first request of a week).
- :func:`restored_answer` adds ``restored`` (``{"tier", "until_week"}`` or null) to a win-back answer, so
  the member's answer after completing shows the tier they got back.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import orjson

from engine.candidates import MemberCandidates
from engine.data.schema import TIERS
from engine.experiments.events import Progress
from engine.rules.config import RulesConfig
from engine.rules.winback import restored_tier
from engine.serve.programme_store import ProgrammeStore
from engine.serve.store import IssueStore

#: How a stored answer says it is a win-back challenge (the field is null on every other answer).
WINBACK_MARK = b'"winback":{'
#: Seconds per week: a restoration's store entry outlives the weeks it holds for.
WEEK_S = 7 * 86_400


async def record_restorations(store: IssueStore, tiers: ProgrammeStore, touched: Sequence[Progress]) -> int:
    """Record the tier each completed win-back challenge in ``touched`` restores; returns how many."""
    recorded = 0
    for progress in touched:
        if not progress.completed:
            continue
        payload = await store.get_issued(progress.week, progress.member_id)
        if payload is None or WINBACK_MARK not in payload:
            continue
        winback = orjson.loads(payload)["winback"]
        if not winback["restores_tier"]:
            continue
        until = progress.week + 1 + int(winback["restore_weeks"])
        ttl = (until - progress.week + 1) * WEEK_S
        recorded += await tiers.restore_tier(progress.member_id, winback["previous_tier"], until, ttl)
    return recorded


def with_restored_tier(
    member: MemberCandidates, restoration: tuple[str, int] | None, week: int, rules: RulesConfig
) -> MemberCandidates:
    """``member`` at the tier a recorded ``restoration`` gives in ``week`` (unchanged when none holds)."""
    if not (rules.winback.enabled and rules.winback.restore_tier):
        return member
    tier = restored_tier(member.tier, restoration, week, TIERS)
    if tier is None:
        return member
    drop = member.drop
    keep = drop if drop is not None and TIERS.index(drop.previous_tier) > TIERS.index(tier) else None
    return dataclasses.replace(member, tier=tier, drop=keep)


async def restored_answer(tiers: ProgrammeStore, member_id: str, payload: bytes) -> bytes:
    """A win-back answer with ``restored`` spliced in; any other answer unchanged (no store read)."""
    if WINBACK_MARK not in payload:
        return payload
    restoration = await tiers.restored_tier(member_id)
    body = (
        b"null"
        if restoration is None
        else orjson.dumps({"tier": restoration[0], "until_week": restoration[1]})
    )
    return b'%b,"restored":%b}' % (payload[:-1], body)
