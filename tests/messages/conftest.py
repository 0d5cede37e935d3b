"""Message fixtures: the shipped config and challenges built by hand with chosen names."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest

from engine.challenge import Challenge
from engine.messages import MessagesConfig, load_messages_config, sms_units
from engine.messages.text import FSI, PDI


@pytest.fixture(scope="session")
def config() -> MessagesConfig:
    """The shipped ``configs/messages.toml``."""
    return load_messages_config()


def make_challenge(item1: str, item2: str, stretch: str, stars: int = 25, **kw: Any) -> Challenge:
    """An issued challenge whose picks carry the given names (the stretch pick's category is ``stretch``)."""
    pick = {"price": 3.0, "margin": 1.0, "p_base": 0.3, "p_offer": 0.4}
    return Challenge.model_validate(
        {
            "member_id": kw.get("member_id", 1),
            "week": 10,
            "tier": "gold",
            "status": "issued",
            "reason_code": "issued",
            "reason": "issued",
            "habitual": [
                {"item_id": 1, "name": item1, "category": "C1", **pick},
                {"item_id": 2, "name": item2, "category": "C2", **pick},
            ],
            "stretch": {"category": stretch, "item_id": 3, "name": "suggested", **pick},
            "reward": {"stars": stars, "cash_cost": 1.0},
            "expected_cost": 0.1,
            "expected_profit": 0.2,
            "p_complete": 0.1,
            "explanation": {"picks": [], "arithmetic": "", "rules": []},
            "model_version": "v1",
            "rules_version": "r1",
        }
    )


def assert_valid_message(text: str, limit: int) -> None:
    """Within the limit, NFC, encodable (no lone surrogate), isolates paired and never nested open."""
    assert sms_units(text) <= limit, (sms_units(text), text)
    assert len(text) <= limit
    assert len(text.encode("utf-16-le")) // 2 <= limit
    assert unicodedata.normalize("NFC", text) == text
    text.encode("utf-8")  # raises on a lone surrogate
    depth = 0
    for char in text:
        depth += {FSI: 1, PDI: -1}.get(char, 0)
        assert 0 <= depth <= 1, text
    assert depth == 0, text
    # nothing a name brought can reorder the text around it
    assert not any(c in text for c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u200e\u200f")
