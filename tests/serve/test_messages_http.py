"""The challenge answer carries message, message_language and send_at, through real HTTP, both stores.

The artifact's members table has the optional profile columns (name, language, time zone) for some
members, so the answer is checked with a Persian name, an English one, and none.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import unicodedata
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from engine.artifact import read_artifact, write_artifact
from engine.messages import load_messages_config, sms_units
from engine.serve.app import create_app
from engine.serve.settings import Settings
from tests.serve.conftest import REDIS_URL, WEEK, LiveServer, delete_prefix, make_artifact, make_settings

Json = dict[str, Any]
PROFILES = {
    1: ("محمدرضا حسین\u200cزاده", "fa", "Asia/Tehran"),
    2: ("Sara", "en-US", "America/Los_Angeles"),
    3: (None, "fa", None),
}


@pytest.fixture
def profile_settings(store_kind: str, tmp_path: Path, rules_path: Path) -> Iterator[Settings]:
    """Settings serving an artifact whose members carry profiles (one store per parameter)."""
    artifact = make_artifact("v1")
    members = artifact.members.copy()
    for column, index in (("name", 0), ("language", 1), ("time_zone", 2)):
        members[column] = [PROFILES.get(m, (None, None, None))[index] for m in members["member_id"]]
    artifact = dataclasses.replace(artifact, members=members)
    root = tmp_path / "artifacts"
    write_artifact(artifact, root / "v1")
    (root / "CHAMPION").write_text("v1\n")
    names = [n if isinstance(n, str) else None for n in read_artifact(root / "v1").members["name"]]
    assert names[:4] == [PROFILES[1][0], "Sara", None, None]
    if store_kind == "embedded":
        yield make_settings(root, rules_path)
        return
    prefix = f"test-messages-{uuid.uuid4().hex[:12]}"
    yield make_settings(root, rules_path, store={"type": "redis", "url": REDIS_URL, "key_prefix": prefix})
    delete_prefix(REDIS_URL, prefix)


def _get(live: LiveServer, member: int | str) -> Json:
    with live.client() as client:
        answer = client.get(f"/v1/members/{member}/challenge", params={"week": WEEK})
    assert answer.status_code == 200, answer.text
    body: Json = answer.json()
    return body


def test_the_answer_carries_the_message_fields(profile_settings: Settings) -> None:
    config = load_messages_config()
    with LiveServer(create_app(profile_settings)) as live:
        persian, english, nameless, unknown = (_get(live, m) for m in (1, 2, 3, 4))
        again = _get(live, 1)
    assert again == persian  # stored with the challenge: a repeat read is the same answer
    for body in (persian, english, nameless, unknown):
        assert body["status"] == "issued"
        text = body["message"]
        assert sms_units(text) <= config.max_units
        assert unicodedata.normalize("NFC", text) == text
        sent = dt.datetime.fromisoformat(body["send_at"])
        assert sent.utcoffset() is not None
        assert sent >= dt.datetime.fromisoformat(body["issued_at"])
        assert str(body["reward"]["stars"]) in text.translate(str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789"))
    assert persian["message_language"] == "fa"
    assert persian["message"].startswith("محمدرضا حسین\u200cزاده عزیز")
    assert dt.datetime.fromisoformat(persian["send_at"]).utcoffset() == dt.timedelta(hours=3, minutes=30)
    assert english["message_language"] == "en"
    assert english["message"].startswith("Sara, ")
    sent = dt.datetime.fromisoformat(english["send_at"])
    assert sent.utcoffset() == sent.astimezone(ZoneInfo("America/Los_Angeles")).utcoffset()
    assert 9 <= sent.hour < 18
    assert sent.weekday() < 5
    assert nameless["message_language"] == "fa"
    assert nameless["message"].startswith("چالش این هفته")
    # no profile (member 4) and cold start: the default language and time zone, no name
    assert unknown["message_language"] == config.default_language
    assert unknown["message"].startswith("This week")
    habitual = [h["name"] for h in english["habitual"]]
    assert all(name.title() in english["message"] or name in english["message"] for name in habitual)


def test_a_no_offer_has_null_message_fields(profile_settings: Settings, rules_path: Path) -> None:
    from tests.serve.conftest import write_rules

    write_rules(rules_path, budget=0.01)
    with LiveServer(create_app(profile_settings)) as live:
        body = _get(live, 1)
    assert (body["status"], body["reason_code"]) == ("no_offer", "budget")
    assert (body["message"], body["message_language"], body["send_at"]) == (None, None, None)


def test_messages_can_be_switched_off(artifact_root: Path, rules_path: Path) -> None:
    settings = make_settings(artifact_root, rules_path, messages_path=None)
    with LiveServer(create_app(settings)) as live:
        body = _get(live, 5)
    assert body["status"] == "issued"
    assert body["message"] is None
