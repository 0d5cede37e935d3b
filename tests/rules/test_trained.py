"""Challenges from a really trained artifact (tiny synthetic data): the contract holds end to end."""

from __future__ import annotations

import pytest

from engine.challenge import assemble_batch, challenges_frame
from engine.data.schema import Dataset
from engine.rules.config import load_rules

AS_OF = 15


@pytest.fixture(scope="module")
def trained(synthetic_dataset: Dataset):  # type: ignore[no-untyped-def]
    from engine.train.candidates import build_candidates
    from engine.train.config import load_train_config

    config = load_train_config().model_copy(update={"progress": False})
    return build_candidates(synthetic_dataset, AS_OF, config)


@pytest.mark.slow  # trains LightFM and the rankers: ~5 s alone, far more on a busy machine
def test_challenges_from_trained_candidates_respect_the_artifact(trained) -> None:  # type: ignore[no-untyped-def]
    challenges = assemble_batch(trained, load_rules(), AS_OF)
    issued = [c for c in challenges if c.status == "issued"]
    assert len(issued) > len(challenges) // 2
    bought = trained.member_categories.groupby("member_id")["category"].agg(set).to_dict()
    habitual = trained.habitual.groupby("member_id")["item_id"].agg(set).to_dict()
    for c in issued:
        assert c.stretch is not None
        assert c.stretch.category not in bought.get(c.member_id, set())
        assert {p.item_id for p in c.habitual} <= habitual[c.member_id]
        assert c.expected_profit >= 0
        assert c.model_version == trained.manifest.model_version
    frame = challenges_frame(challenges)
    assert len(frame) == len(trained.members)
    assert frame["member_id"].is_unique
