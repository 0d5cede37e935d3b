"""Comparing the challenges of two rules files."""

from __future__ import annotations

import pytest

from engine.challenge import MemberHistory, assemble_batch
from engine.rules.preview import compare
from tests.strategies import artifact_from, make_rules
from tests.test_challenge import ITEMS, WEEK, _member


def test_compare_counts_changes_by_kind_and_tier() -> None:
    members = [
        _member([(1, 0.5), (2, 0.4)], [("SALAD", 4, 0.2), ("LUNCH", 5, 0.1)], member_id=1, tier="bronze"),
        _member([(1, 0.5), (3, 0.4)], [("LUNCH", 5, 0.2)], member_id=2, tier="gold"),
        _member([(6, 0.5)], [], member_id=3, tier="gold"),
    ]
    artifact = artifact_from(ITEMS, members)
    current = assemble_batch(artifact, make_rules(), WEEK)
    # the candidate rules exclude SALAD: member 1 gets LUNCH instead, member 2 is unchanged
    excluded = make_rules(eligibility={"excluded_departments": ["FUEL"], "excluded_categories": ["SALAD"]})
    preview = compare(current, assemble_batch(artifact, excluded, WEEK))
    assert preview.changes == {"different_challenge": 1}
    assert preview.overall.changed == 1
    assert preview.by_tier["bronze"].changed == 1
    assert preview.by_tier["gold"].changed == 0
    assert preview.overall.current.withheld_by_reason == {"no_habitual": 1}
    assert preview.examples[0]["member_id"] == 1
    assert "LUNCH" in preview.examples[0]["candidate"]
    assert preview.to_dict()["overall"]["candidate"]["issued"] == 2


def test_compare_needs_the_same_members() -> None:
    members = [_member([(1, 0.5), (2, 0.4)], [("SALAD", 4, 0.2)], member_id=1)]
    batch = assemble_batch(artifact_from(ITEMS, members), make_rules(), WEEK)
    history = {1: MemberHistory(last_offer_week=WEEK)}
    other = assemble_batch(artifact_from(ITEMS, members), make_rules(), WEEK, history)
    assert compare(batch, other).changes == {"now_withheld": 1}
    with pytest.raises(ValueError, match="same members"):
        compare(batch, [])


def test_compare_breaks_down_by_stage_and_segment() -> None:
    from dataclasses import replace

    from engine.candidates import loyalty_of

    members = [
        replace(
            _member([(1, 0.5), (2, 0.4)], [("SALAD", 4, 0.2)], member_id=1),
            stage="loyal",
            segments=("a", "b"),
        ),
        replace(
            _member([(1, 0.5), (3, 0.4)], [("LUNCH", 5, 0.2)], member_id=2), stage="repeat", segments=("b",)
        ),
        _member([(1, 0.5), (2, 0.4)], [("SALAD", 4, 0.2)], member_id=3),
    ]
    artifact = artifact_from(ITEMS, members)
    current = assemble_batch(artifact, make_rules(), WEEK)
    # the candidate rules give segment "a" no challenges and cut loyal rewards
    candidate = make_rules(
        targets=[
            {"name": "off", "match": {"segment": "a"}, "enabled": False},
            {"name": "repeat_less", "match": {"stage": "repeat"}, "stars": 10},
        ]
    )
    preview = compare(current, assemble_batch(artifact, candidate, WEEK), loyalty_of(artifact))
    assert list(preview.by_stage) == ["repeat", "loyal", "unknown"]
    loyal, repeat = preview.by_stage["loyal"], preview.by_stage["repeat"]
    assert (loyal.current.issued, loyal.candidate.issued, loyal.changed) == (1, 0, 1)
    assert loyal.candidate.withheld_by_reason == {"target_disabled": 1}
    assert repeat.changed == 1
    assert repeat.candidate.expected_reward_cost < repeat.current.expected_reward_cost
    assert preview.by_stage["unknown"].changed == 0
    assert preview.by_segment["a"].current.members == 1
    assert (preview.by_segment["b"].current.members, preview.by_segment["b"].changed) == (2, 2)
    assert "c" not in preview.by_segment
