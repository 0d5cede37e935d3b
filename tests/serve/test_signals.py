"""Negative signals through real HTTP: recorded with their own key, an opt-out stops offers (reason code
``opted_out``), and the experiment's ``opt_out_rate`` guardrail reads them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from engine.experiments.analysis import summarize_arm
from engine.experiments.definition import ExperimentDefinition
from engine.experiments.frame import member_frame
from engine.experiments.store import SqliteEventStore
from tests.serve.conftest import ADMIN_KEY, SIGNALS_KEY, TILL_KEY, WEEK, LiveServer, make_artifact
from tests.serve.test_experiments import (  # the experiment fixtures are shared with that module
    challenge,
    definition,
    definition_path,
    events_db,
    exp_live,
    exp_settings,
    member_in,
)

__all__ = ["definition", "definition_path", "events_db", "exp_live", "exp_settings"]
Json = dict[str, Any]


def signal(event_id: str, member: int, kind: str) -> Json:
    """One signal body, stamped now (the current week WEEK)."""
    now = dt.datetime.now(dt.UTC).isoformat()
    return {"event_id": event_id, "member_id": member, "kind": kind, "timestamp": now}


def post_signals(live: LiveServer, events: list[Json], key: str | None = SIGNALS_KEY) -> httpx.Response:
    """POST signals with ``key``."""
    headers = {} if key is None else {"X-API-Key": key}
    return httpx.post(f"{live.url}/v1/events/signals", json={"events": events}, headers=headers)


def test_an_opted_out_member_gets_an_explicit_no_offer_and_the_guardrail_counts_signals(
    exp_live: LiveServer, definition: ExperimentDefinition, events_db: Path
) -> None:
    opted = member_in(definition, "recommender")
    held = member_in(definition, "holdout")
    unsubscribed = member_in(definition, "recommender", skip=1)
    blocked = member_in(definition, "baseline")
    already = member_in(definition, "recommender", skip=2)
    before = challenge(exp_live, already)  # issued before the member opts out
    events = [
        signal("s1", opted, "opt_out"),
        signal("s2", held, "opt_out"),
        signal("s3", unsubscribed, "unsubscribe"),
        signal("s4", blocked, "blocked_notifications"),
        signal("s5", already, "opt_out"),
    ]
    assert post_signals(exp_live, events, None).status_code == 401
    assert post_signals(exp_live, events, TILL_KEY).status_code == 403
    r = post_signals(exp_live, events)
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 5, "new": 5}
    assert post_signals(exp_live, events).json() == {"accepted": 5, "new": 0}  # a resend

    for member, arm in ((opted, "recommender"), (held, "holdout")):
        body = challenge(exp_live, member)
        assert (body["status"], body["reason_code"]) == ("no_offer", "opted_out"), body
        assert body["arm"] == arm
        assert (body["habitual"], body["stretch"], body["reward"]) == ([], None, None)
        assert body["explanation"]["rules"][0]["rule"] == "opted_out"
        assert body["progress"]["offered"] is False
    for member in (unsubscribed, blocked):  # only an opt-out stops offers
        got = challenge(exp_live, member)
        assert got["status"] == "issued", got["reason"]
    # The week's challenge already issued stays; the next week's is refused.
    assert challenge(exp_live, already) == before
    assert challenge(exp_live, already, week=WEEK + 1)["reason_code"] == "opted_out"
    with httpx.Client(base_url=exp_live.url, headers={"X-API-Key": ADMIN_KEY}) as admin:
        counters = admin.get("/v1/admin/counters").json()["counters"]
    assert counters["no_offer:opted_out"] == 3
    # Getting back is easy: an opt-in restores offers from the next challenge issued.
    keen = member_in(definition, "baseline", skip=1)
    challenge(exp_live, keen)
    back = [signal("s6", opted, "opt_in"), signal("s7", keen, "opt_in")]
    assert post_signals(exp_live, back).json() == {"accepted": 2, "new": 2}
    assert challenge(exp_live, opted) == challenge(exp_live, opted)  # this week's answer stays
    again = challenge(exp_live, opted, week=WEEK + 1)
    assert again["status"] == "issued", again

    items = make_artifact("v1").items
    catalog = pd.DataFrame(
        {
            "item_id": items["item_id"].astype(str),
            "category": items["category"],
            "price": items["price"],
            "margin_rate": items["margin_rate"],
        }
    )
    with SqliteEventStore(events_db) as store:
        frame = member_frame(store, definition, catalog, pre_period_weeks=0).set_index("member_id")
    flagged = set(frame.index[frame["opted_out"] == 1.0])
    # An opt-in is no harm: the member who only opted in is not counted.
    assert flagged == {str(m) for m in (opted, held, unsubscribed, blocked, already)}
    treated = frame[frame["arm"] == "recommender"]
    assert summarize_arm(frame.reset_index(), "recommender", "recommender").opt_out_rate == pytest.approx(
        3 / len(treated)
    )


def test_bad_signals_are_a_422_naming_the_field(exp_live: LiveServer) -> None:
    good = signal("ok", 1, "opt_out")
    for bad, field in [
        ({**good, "kind": "unsubscribed"}, "events.1.kind"),
        ({**good, "timestamp": "2026-03-10T12:00:00"}, "events.1.timestamp"),
        ({**good, "timestamp": "2020-01-01T00:00:00+00:00"}, "events.1.timestamp"),
        ({k: v for k, v in good.items() if k != "member_id"}, "events.1.member_id"),
    ]:
        r = post_signals(exp_live, [signal("first", 2, "unsubscribe"), {**bad, "event_id": "bad"}])
        assert r.status_code == 422, r.text
        assert field in r.json()["detail"]
    # One id twice with other content: refused before anything is stored.
    r = post_signals(exp_live, [good, {**good, "kind": "unsubscribe"}])
    assert r.status_code == 422
    assert "events.1.event_id" in r.json()["detail"]
    assert post_signals(exp_live, [good]).json() == {"accepted": 1, "new": 1}
    # An id stored before, now with other content: a conflict.
    assert post_signals(exp_live, [{**good, "kind": "unsubscribe"}]).status_code == 409


def test_without_experiments_signals_answer_404(live: LiveServer) -> None:
    r = post_signals(live, [signal("x", 4, "opt_out")])
    assert r.status_code == 404
    assert "[experiments]" in r.json()["detail"]


def test_signals_reach_the_rules_over_http(exp_live: LiveServer, definition: ExperimentDefinition) -> None:
    """Unsubscribed: still offered in the app, no message; blocked notifications: fewer offers; and the
    expected cost of a negative reaction is in every issued challenge's arithmetic (engine.rules.negative)."""
    unsubscribed = member_in(definition, "recommender", skip=3)
    blocked = member_in(definition, "recommender", skip=4)
    plain = member_in(definition, "recommender", skip=2)
    events = [signal("n1", unsubscribed, "unsubscribe"), signal("n2", blocked, "blocked_notifications")]
    assert post_signals(exp_live, events).json() == {"accepted": 2, "new": 2}
    quiet = challenge(exp_live, unsubscribed)
    assert quiet["status"] == "issued", quiet
    rules = {r["rule"]: r for r in quiet["explanation"]["rules"]}
    assert rules["message_channel"]["passed"] is False
    assert "unsubscribe x1: no_message" in rules["negative_signals"]["detail"]
    assert "negative reaction" in quiet["explanation"]["arithmetic"]
    first = challenge(exp_live, blocked)
    assert first["status"] == "issued", first
    # bronze/silver: one offer a week, plus reduce_extra_weeks (1) for blocked notifications
    if first["tier"] in ("bronze", "silver"):
        later = challenge(exp_live, blocked, week=WEEK + 1)
        assert (later["status"], later["reason_code"]) == ("no_offer", "tier_frequency"), later
    other = challenge(exp_live, plain)
    assert "negative_signals" not in {r["rule"] for r in other["explanation"]["rules"]}
    assert "negative reaction" in other["explanation"]["arithmetic"]  # the base rate prices everyone
