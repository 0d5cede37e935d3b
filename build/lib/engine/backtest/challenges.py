"""The challenges of one policy and week as a frame the metrics read.

The stable columns come from :func:`engine.challenge.challenges_frame` (the shape of ``offers
challenges``); the backtest adds what the money and coverage metrics need from each
:class:`~engine.challenge.Challenge`: the machine-readable ``reason_code``, ``expected_cost`` (reward
cash cost x P(complete | offer)) and ``p_complete``.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from engine.challenge import Challenge, challenges_frame


def challenge_table(challenges: Sequence[Challenge]) -> pd.DataFrame:
    """:func:`challenges_frame` plus ``reason_code``, ``expected_cost`` and ``p_complete``, row for row."""
    frame = challenges_frame(challenges).reset_index(drop=True)
    return frame.assign(
        reason_code=[c.reason_code for c in challenges],
        expected_cost=[float(c.expected_cost) for c in challenges],
        p_complete=[float(c.p_complete) for c in challenges],
    )
