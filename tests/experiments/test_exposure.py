"""Exposure when shown: display reports decide who is exposed; fetched-but-never-shown is reported."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from uuid import uuid4

import numpy as np
import pandas as pd
import pytest
import redis

from engine.data.synthetic import generate_synthetic
from engine.errors import ExperimentError
from engine.experiments.analysis import analyze
from engine.experiments.assignment import assign_arm
from engine.experiments.config import load_experiments_config
from engine.experiments.displays import DisplayLog, RedisDisplayLog, SqliteDisplayLog, record_display
from engine.experiments.events import ChallengeSnapshot
from engine.experiments.exposure import DISPLAYED, shown_only, with_displays
from engine.experiments.frame import member_frame
from engine.experiments.report import render_markdown
from engine.experiments.service import record_exposure
from engine.experiments.store import SqliteEventStore
from tests.experiments.conftest import REDIS_URL, make_definition
from tests.experiments.test_analysis import outcome_frame

CONFIG = load_experiments_config().analysis


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def make_log(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], DisplayLog]]:
    """Open the display log (the same data on a second open), on both backends."""
    prefix = f"test-offers-displays:{uuid4().hex}"
    opened: list[DisplayLog] = []

    def factory() -> DisplayLog:
        log: DisplayLog
        if request.param == "redis":
            log = RedisDisplayLog(redis.Redis.from_url(REDIS_URL), prefix)
        else:
            log = SqliteDisplayLog(tmp_path / "events.sqlite3")
        opened.append(log)
        return log

    yield factory
    for log in opened:
        log.close()
    if request.param == "redis":
        client = redis.Redis.from_url(REDIS_URL)
        client.delete(f"{prefix}:displays")
        client.close()


def test_display_log_counts_per_member_week_and_survives_a_reopen(make_log: Callable[[], DisplayLog]) -> None:
    definition = make_definition()
    log = make_log()
    arm = record_display(log, definition, "7", 10)
    assert arm == assign_arm(definition, "7")
    record_display(log, definition, "7", 10)
    record_display(log, definition, "8", 11)
    assert record_display(log, definition, "8", 30) is None  # outside the experiment's weeks
    log.close()
    table = make_log().table().sort_values(["member_id", "week"]).reset_index(drop=True)
    assert table[["member_id", "week", "displays"]].values.tolist() == [["7", 10, 2], ["8", 11, 1]]
    assert set(table["experiment"]) == {"exp_a"}


def test_only_shown_members_are_compared_and_the_never_shown_share_is_reported() -> None:
    definition = make_definition(exposure="displayed")
    frame = outcome_frame({"recommender": 800, "baseline": 600, "holdout": 600}, effect=3.0)
    rng = np.random.default_rng(3)
    frame[DISPLAYED] = (rng.random(len(frame)) < 0.8).astype(float)
    result = analyze(frame, definition, CONFIG)
    assert result.exposure is not None
    shown = {a.arm: a for a in result.exposure.arms}
    assert shown["recommender"].fetched == 800
    assert shown["recommender"].shown == int(frame.loc[frame.arm == "recommender", DISPLAYED].sum())
    assert sum(a.members for a in result.arms) == int(frame[DISPLAYED].sum())
    assert not result.exposure.differs_by_arm
    text = render_markdown(result)
    assert "## Exposure when shown" in text
    assert "fetched, never shown" in text


def test_showing_that_depends_on_the_arm_is_flagged() -> None:
    definition = make_definition(exposure="displayed")
    frame = outcome_frame({"recommender": 800, "baseline": 600, "holdout": 600}, effect=3.0)
    # The app shows the holdout's no-offer screen far less often than a challenge.
    frame[DISPLAYED] = np.where(frame["arm"] == "holdout", np.arange(len(frame)) % 2, 1).astype(float)
    _, summary = shown_only(frame, definition, CONFIG.srm_alpha)
    assert summary.differs_by_arm
    assert "DIFFERS by arm" in render_markdown(analyze(frame, definition, CONFIG))


def test_a_displayed_definition_without_display_reports_is_refused() -> None:
    frame = outcome_frame({"recommender": 80, "baseline": 60, "holdout": 60})
    with pytest.raises(ExperimentError, match="no display reports"):
        analyze(frame, make_definition(exposure="displayed"), CONFIG)


def test_from_events_to_shown_only_analysis(tmp_path: Path) -> None:
    data = generate_synthetic(n_members=300, n_items=80, n_weeks=14, seed=2)
    definition = make_definition(exposure="displayed")
    offer = ChallengeSnapshot(item_ids=tuple(data.catalog["item_id"].astype(str)[:3]), reward_cost=2.0)
    members = [str(m) for m in data.members["member_id"][:240]]
    with SqliteEventStore(tmp_path / "e.sqlite3") as store:
        log = SqliteDisplayLog(tmp_path / "e.sqlite3")
        for i, m in enumerate(members):
            arm = assign_arm(definition, m)
            record_exposure(store, definition, arm, m, 10, None if arm == "holdout" else offer)
            if i % 4:  # every fourth member never sees it
                record_display(log, definition, m, 10)
        record_display(log, definition, "999999", 10)  # shown but never fetched: not an exposure
        frame = member_frame(store, definition, data.catalog, 4, pd.Series(dtype="float64"))
        frame = with_displays(frame, log.table(), definition)
        log.close()
    result = analyze(frame, definition, CONFIG)
    assert result.exposure is not None
    assert sum(a.fetched for a in result.exposure.arms) == len(members)
    assert sum(a.shown for a in result.exposure.arms) == sum(1 for i in range(len(members)) if i % 4)
    assert result.exposure.displayed_not_fetched == 1
