"""The online store's part for the loyalty programme: restored tiers (win-back) and choices.

Both stores implement :class:`ProgrammeStore` (:class:`~engine.serve.embedded.EmbeddedStore` through
:mod:`engine.serve.embedded_programme`, :class:`~engine.serve.redis_store.RedisStore` through
:mod:`engine.serve.redis_programme`); the store contract tests run against both.

restorations  per member: the tier a completed win-back challenge restored and the week it holds until;
              a later restoration replaces an earlier one only if it holds longer.
choices       per (week, member): the option the member picked, set once; picking also replaces the
              week's issued answer by the chosen one (same expiry) and gives back ``release`` of the
              week's budget, in the same atomic step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ChoiceResult:
    """The outcome of :meth:`ProgrammeStore.choose_once`.

    ``option`` is the option recorded (ours, or the earlier pick), ``payload`` the issued answer now,
    ``won`` whether this call recorded it; ``issued`` False: nothing was issued that week (nothing done).
    """

    option: str | None
    payload: bytes | None
    won: bool
    issued: bool = True


class ProgrammeStore(Protocol):
    """Restored tiers and once-only choices."""

    async def restore_tier(self, member_id: str, tier: str, until_week: int, ttl_s: int) -> bool:
        """Record that ``member_id`` holds ``tier`` until ``until_week`` (exclusive); True if recorded.

        An existing restoration that holds as long or longer is kept (a resend changes nothing).
        """
        ...

    async def restored_tier(self, member_id: str) -> tuple[str, int] | None:
        """The member's restoration ``(tier, until_week)``, or ``None``."""
        ...

    async def choose_once(
        self, week: int, member_id: str, option: str, payload: bytes, release: float
    ) -> ChoiceResult:
        """Record the member's pick for ``week`` once, atomically with the answer and the budget."""
        ...
