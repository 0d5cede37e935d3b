"""Negative signals from the app backend or the messaging platform, placed in their challenge week."""

from __future__ import annotations

from collections.abc import Sequence

from engine.errors import BadRequest
from engine.experiments.events import OptOutEvent
from engine.serve.calendar import WeekCalendar
from engine.serve.schemas import SignalIn


def admit_signals(body: Sequence[SignalIn], calendar: WeekCalendar) -> list[OptOutEvent]:
    """The events of ``body``, each in the week of its timestamp.

    Raises
    ------
    BadRequest
        A timestamp outside the served weeks (the message names ``body.events.<index>.timestamp``), or
        one event id twice with different content (checked before anything is stored).
    """
    events = []
    seen: dict[str, tuple[int, SignalIn]] = {}
    for index, signal in enumerate(body):
        first = seen.setdefault(signal.event_id, (index, signal))
        if first[1] != signal:
            raise BadRequest(
                f"body.events.{index}.event_id: {signal.event_id!r} is also events.{first[0]}, "
                "with other content"
            )
        try:
            week = calendar.week_at(signal.timestamp)
        except BadRequest as exc:
            raise BadRequest(
                f"body.events.{index}.timestamp: {signal.timestamp.isoformat()}: {exc.message}"
            ) from exc
        events.append(
            OptOutEvent(
                event_id=signal.event_id,
                member_id=str(signal.member_id),
                week=week,
                kind=signal.kind,
                timestamp=signal.timestamp,
            )
        )
    return events
