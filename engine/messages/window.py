"""When a message may go out: the first instant inside office hours in the member's time zone.

Pure: :func:`send_at` takes the issue instant, the member's time zone and the window. Local times are
turned into instants with :mod:`zoneinfo`: a window start that a daylight-saving jump skips (02:30 on
a spring-forward night) is the instant the clocks show it after the jump would have shown it
(zoneinfo's ``fold=0`` reading: 03:30 new time), one that repeats (autumn) is its first occurrence.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from engine.messages.config import DAYS, Day

#: A week and a day: any window with at least one day opens within it.
_SEARCH_DAYS = 8


def _at(day: dt.date, hour: int, zone: dt.tzinfo) -> dt.datetime:
    """The instant (in UTC) of local ``hour`` o'clock on ``day`` in ``zone`` (hour 24: next midnight)."""
    day, hour = (day + dt.timedelta(days=1), 0) if hour == 24 else (day, hour)
    return dt.datetime.combine(day, dt.time(hour), tzinfo=zone).astimezone(dt.UTC)


def send_at(
    issued_at: dt.datetime,
    zone: dt.tzinfo,
    *,
    start_hour: int,
    end_hour: int,
    days: Collection[Day],
) -> dt.datetime:
    """The first instant at or after ``issued_at`` that is inside the window, in ``zone``'s local time.

    Parameters
    ----------
    issued_at
        An aware instant (naive raises ValueError: it would be read in the server's zone).
    zone
        The member's time zone.
    start_hour, end_hour
        The window is [start_hour, end_hour) local time on each of ``days`` (end 24: until midnight).
    days
        Sending days, as ``"mon"`` ... ``"sun"`` (at least one).
    """
    if issued_at.tzinfo is None or issued_at.utcoffset() is None:
        raise ValueError(f"issued_at {issued_at.isoformat()} has no time zone")
    if not days:
        raise ValueError("the send window has no days")
    # Instants are compared in UTC: aware datetimes sharing a tzinfo compare by wall time, which is
    # wrong in the hour an autumn change repeats.
    now = issued_at.astimezone(dt.UTC)
    today = issued_at.astimezone(zone).date()
    for offset in range(_SEARCH_DAYS):
        day = today + dt.timedelta(days=offset)
        if DAYS[day.weekday()] not in days:
            continue
        opens, closes = _at(day, start_hour, zone), _at(day, end_hour, zone)
        if now < closes:
            return max(now, opens).astimezone(zone)
    raise ValueError(f"no sending day within a week of {issued_at.isoformat()}")  # unreachable: days >= 1
