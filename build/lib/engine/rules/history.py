"""What earlier weeks offered a member: read by the repeat and frequency rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class MemberHistory:
    """Stretch categories offered to one member with the week offered, and the last offer week."""

    stretch_weeks: Mapping[str, int] = field(default_factory=dict)
    last_offer_week: int | None = None
