"""send_at: the first instant in office hours in the member's time zone, across zones and DST."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.candidates import MemberProfile
from engine.messages import MessagesConfig, compose, send_at
from engine.messages.config import DAYS, Day
from tests.messages.conftest import make_challenge

WEEKDAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri")
NY = ZoneInfo("America/New_York")


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def window(
    issued: dt.datetime, zone: str, days: tuple[str, ...] = WEEKDAYS, start: int = 9, end: int = 18
) -> str:
    return send_at(issued, ZoneInfo(zone), start_hour=start, end_hour=end, days=days).isoformat()  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("issued", "zone", "expected"),
    [
        # Tuesday 2026-03-10 12:00 UTC = 08:00 EDT: wait for 09:00
        ("2026-03-10T12:00:00", "America/New_York", "2026-03-10T09:00:00-04:00"),
        # inside the window: at once, in local time
        ("2026-03-10T15:30:00", "America/New_York", "2026-03-10T11:30:00-04:00"),
        # 18:00 local is closed (end excluded): next morning
        ("2026-03-10T22:00:00", "America/New_York", "2026-03-11T09:00:00-04:00"),
        # Friday evening: Monday
        ("2026-03-13T23:00:00", "America/New_York", "2026-03-16T09:00:00-04:00"),
        # the same instant in Tehran (+03:30, no DST since 2022) is Tuesday 15:30: at once
        ("2026-03-10T12:00:00", "Asia/Tehran", "2026-03-10T15:30:00+03:30"),
        # India +05:30 and Chatham +13:45 (DST in March): half and quarter hour offsets
        ("2026-03-10T02:00:00", "Asia/Kolkata", "2026-03-10T09:00:00+05:30"),
        ("2026-03-10T00:00:00", "Pacific/Chatham", "2026-03-10T13:45:00+13:45"),
        # UTC Tuesday 23:00 is already Wednesday 12:00 in Auckland (+13:00)
        ("2026-03-10T23:00:00", "Pacific/Auckland", "2026-03-11T12:00:00+13:00"),
    ],
)
def test_send_at_across_time_zones(issued: str, zone: str, expected: str) -> None:
    assert window(utc(issued), zone) == expected


def test_spring_forward_in_new_york() -> None:
    # Sunday 2026-03-08: clocks go 02:00 EST -> 03:00 EDT. Friday evening (EST) -> Monday 09:00 EDT.
    assert window(utc("2026-03-06T23:30:00"), "America/New_York") == "2026-03-09T09:00:00-04:00"
    # a window opening at 02:00 on the night it does not exist opens at 03:00 new time
    sunday = ("sun",)
    assert window(utc("2026-03-08T05:00:00"), "America/New_York", sunday, 2, 6) == "2026-03-08T03:00:00-04:00"


def test_fall_back_in_new_york() -> None:
    # Sunday 2026-11-01: 02:00 EDT -> 01:00 EST; 01:30 happens twice. A window 01:00-02:00 opens at the
    # first 01:00 (EDT) and an instant in the repeated hour (second 01:30, EST) is inside it.
    sunday = ("sun",)
    assert window(utc("2026-11-01T04:00:00"), "America/New_York", sunday, 1, 2) == "2026-11-01T01:00:00-04:00"
    assert window(utc("2026-11-01T06:30:00"), "America/New_York", sunday, 1, 2) == "2026-11-01T01:30:00-05:00"
    # after the (two-hour-long) window: the next Sunday
    assert window(utc("2026-11-01T07:00:00"), "America/New_York", sunday, 1, 2) == "2026-11-08T01:00:00-05:00"


def test_end_hour_24_means_until_midnight() -> None:
    assert (
        window(utc("2026-03-10T03:59:00"), "America/New_York", WEEKDAYS, 20, 24)
        == "2026-03-09T23:59:00-04:00"
    )


def test_naive_issue_time_is_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        send_at(dt.datetime(2026, 3, 10, 12), NY, start_hour=9, end_hour=18, days=WEEKDAYS)  # type: ignore[arg-type]


zones = st.sampled_from(
    ["America/New_York", "Europe/London", "Asia/Tehran", "Australia/Lord_Howe", "Pacific/Chatham", "UTC"]
)


@settings(max_examples=300, deadline=None)
@given(
    issued=st.datetimes(dt.datetime(2020, 1, 1), dt.datetime(2035, 1, 1), timezones=st.just(dt.UTC)),
    zone=zones,
    days=st.sets(st.sampled_from(DAYS), min_size=1),
    hours=st.tuples(st.integers(0, 23), st.integers(1, 24)).filter(lambda h: h[0] < h[1]),
)
def test_send_at_is_the_first_instant_inside_the_window(
    issued: dt.datetime, zone: str, days: set[str], hours: tuple[int, int]
) -> None:
    tz = ZoneInfo(zone)
    start, end = hours
    at = send_at(issued, tz, start_hour=start, end_hour=end, days=days)  # type: ignore[arg-type]
    assert at.utcoffset() is not None
    assert at >= issued
    assert at - issued < dt.timedelta(days=8)
    local = at.astimezone(tz)
    assert DAYS[local.weekday()] in days

    def inside(instant: dt.datetime) -> bool:
        here = instant.astimezone(tz)
        opens = dt.datetime.combine(here.date(), dt.time(start), tzinfo=tz).astimezone(dt.UTC)
        closes_day = here.date() + dt.timedelta(days=1) if end == 24 else here.date()
        closes = dt.datetime.combine(closes_day, dt.time(end % 24), tzinfo=tz).astimezone(dt.UTC)
        return DAYS[here.weekday()] in days and opens <= instant.astimezone(dt.UTC) < closes

    assert inside(at)
    # first: either sent at once, or no earlier minute since issue was inside
    if at != issued:
        assert not inside(issued)
        assert not inside(at - dt.timedelta(minutes=1)) or at - dt.timedelta(minutes=1) < issued


def test_member_time_zone_and_working_week_come_from_the_profile(config: MessagesConfig) -> None:
    # Friday 2026-03-13 10:00 UTC: 13:30 in Tehran, but Friday is the Iranian weekend -> Saturday 09:00
    issued = utc("2026-03-13T10:00:00")
    challenge = make_challenge("MILK", "EGGS", "SOUP")
    tehran = compose(challenge, MemberProfile(language="fa", time_zone="Asia/Tehran"), issued, config)
    default = compose(challenge, MemberProfile(language="fa"), issued, config)
    unknown = compose(challenge, MemberProfile(time_zone="Mars/Olympus"), issued, config)
    assert tehran is not None
    assert default is not None
    assert unknown is not None
    assert tehran.send_at.isoformat() == "2026-03-14T09:00:00+03:30"
    assert default.send_at.isoformat() == "2026-03-13T09:00:00-04:00"  # New York works on Fridays
    assert unknown.send_at == default.send_at  # an unknown zone falls back to the default
