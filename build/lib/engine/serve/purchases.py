"""Which purchase events from the till count: the week window, decided before anything is stored.

A purchase counts towards the challenge of the week its ``timestamp`` falls in (the serving calendar),
and only while that week is running. One arriving after its week expired (plus a grace period for
tills that were offline) earns nothing: it is stored as the member's spend for the experiment analysis,
marked as never earning (a resend cannot earn later either). One stamped in a week that has not
started, or further ahead of our clock than the allowed skew, is not a purchase that happened: it is
not stored. The answer lists both kinds with their reason. A timestamp outside the calendar or a
``week`` that disagrees with the timestamp is a malformed request (:class:`~engine.errors.BadRequest`,
nothing stored).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from engine.errors import BadRequest
from engine.experiments.events import PurchaseEvent
from engine.serve.calendar import WeekCalendar
from engine.serve.schemas import NotCounted, PurchaseIn


@dataclass(frozen=True, slots=True)
class PurchaseWindow:
    """How late and how early (clock skew) a purchase may be and still count."""

    grace: dt.timedelta
    skew: dt.timedelta


@dataclass(frozen=True, slots=True)
class Admitted:
    """The events to store (late ones marked as never earning) and those that earn nothing.

    ``indices`` holds each stored event's position in the request body.
    """

    events: list[PurchaseEvent]
    not_counted: list[NotCounted]
    indices: list[int]


def admit_purchases(
    body: Sequence[PurchaseIn], calendar: WeekCalendar, window: PurchaseWindow, now: dt.datetime, source: str
) -> Admitted:
    """The events of ``body`` to store (tagged with ``source``, the key's name) and those earning nothing.

    Raises
    ------
    BadRequest
        A timestamp outside the served weeks, or a ``week`` that is not the timestamp's week; the message
        names ``body.events.<index>`` and the field.
    """
    events: list[PurchaseEvent] = []
    refused: list[NotCounted] = []
    indices: list[int] = []
    for index, event in enumerate(body):
        where = f"body.events.{index}"
        try:
            week = calendar.week_at(event.timestamp)
        except BadRequest as exc:
            raise BadRequest(f"{where}.timestamp: {event.timestamp.isoformat()}: {exc.message}") from exc
        if event.week is not None and event.week != week:
            raise BadRequest(
                f"{where}.week: week {event.week} is not the week of timestamp "
                f"{event.timestamp.isoformat()} (week {week} on the serving calendar)"
            )
        member = str(event.member_id)
        starts, expires = calendar.starts(week), calendar.expires(week)
        reason: str | None = None
        if event.timestamp > now + window.skew:
            if starts > now:
                reason = "week_not_started"
                detail = f"week {week} starts {starts.isoformat()}: this purchase earns nothing (not stored)"
            else:
                reason = "timestamp_in_future"
                detail = (
                    f"timestamp {event.timestamp.isoformat()} is ahead of the service clock "
                    f"{now.isoformat()}: a purchase not yet made earns nothing (not stored)"
                )
        elif now >= expires + window.grace:
            reason = "week_expired"
            detail = (
                f"week {week}'s challenge expired {expires.isoformat()} (late purchases count until "
                f"{(expires + window.grace).isoformat()}): this purchase earns nothing (kept as the "
                "member's spend for the experiment analysis)"
            )
        if reason is not None:
            refused.append(
                NotCounted.model_validate(
                    {
                        "index": index,
                        "event_id": event.event_id,
                        "member_id": member,
                        "week": week,
                        "reason": reason,
                        "detail": detail,
                    }
                )
            )
            if reason != "week_expired":
                continue
        indices.append(index)
        events.append(
            PurchaseEvent(
                event_id=event.event_id,
                member_id=member,
                week=week,
                item_id=str(event.item_id),
                quantity=event.quantity,
                sales_value=event.sales_value,
                timestamp=event.timestamp,
                transaction_id=event.transaction_id,
                source=source,
                earns=reason is None,
            )
        )
    return Admitted(events, refused, indices)
