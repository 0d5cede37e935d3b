"""Challenge weeks on the calendar: which week it is now, and when a week's challenge expires.

Week 1 starts at midnight UTC on ``[calendar] week1_start``; every week is seven days. The week numbers
are those the candidate artifacts are scored for (``challenge_week``).
"""

from __future__ import annotations

import datetime as dt

from engine.errors import BadRequest
from engine.serve.settings import CalendarConfig

_WEEK = dt.timedelta(days=7)


class WeekCalendar:
    """Maps instants to week numbers and week numbers to their [start, end) instants (UTC)."""

    def __init__(self, config: CalendarConfig) -> None:
        self.config = config
        self._origin = dt.datetime.combine(config.week1_start, dt.time(), tzinfo=dt.UTC)

    def week_at(self, when: dt.datetime) -> int:
        """The week containing ``when`` (timezone-aware); before week 1 raises :class:`BadRequest`."""
        return self.check((when - self._origin) // _WEEK + 1)

    def current_week(self) -> int:
        """The week containing now."""
        return self.week_at(dt.datetime.now(dt.UTC))

    def check(self, week: int) -> int:
        """``week`` if it lies in the configured range, else :class:`BadRequest` naming the range."""
        if not self.config.min_week <= week <= self.config.max_week:
            raise BadRequest(
                f"week {week} is outside the served range {self.config.min_week}..{self.config.max_week} "
                f"(week 1 starts {self.config.week1_start.isoformat()})"
            )
        return week

    def starts(self, week: int) -> dt.datetime:
        """When ``week`` begins."""
        return self._origin + (week - 1) * _WEEK

    def expires(self, week: int) -> dt.datetime:
        """When ``week``'s challenge expires: the start of the next week."""
        return self._origin + week * _WEEK
