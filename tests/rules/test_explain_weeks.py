"""Explanations name the week system they speak in: the model's data weeks, not the request's week."""

from __future__ import annotations

from engine.candidates import HabitualCandidate
from engine.rules.explain import why_habitual


def test_the_last_purchase_is_in_data_weeks() -> None:
    # A week-54 model serving `?week=50` (serving calendar) used to say "last in week 53", a week that
    # reads as three weeks after the one asked for.
    text = why_habitual("MILK 1L", 7, "MILK", HabitualCandidate(7, 0.5, 3, 53), 0.6)
    assert "last in data week 53" in text
    assert "last in week" not in text
    assert "last in" not in why_habitual("MILK 1L", 7, "MILK", HabitualCandidate(7, 0.5, 0, None), 0.6)
