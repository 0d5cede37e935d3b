"""A restart of the service on the embedded store changes no challenge and bypasses no cap.

Real HTTP (uvicorn), a real SQLite file: the second app opens the file the first one wrote.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.config import CONFIG_DIR
from engine.serve.app import create_app
from engine.serve.settings import Settings
from tests.serve.conftest import LiveServer, make_settings

#: Members the artifact knows (1..20) and members it does not (cold start).
MEMBERS = [*range(1, 21), *range(1001, 1041)]
PATH = "/v1/members/{}/challenge"


def two_week_gap_rules(path: Path) -> None:
    """The shipped rules with bronze members offered at most every second week."""
    text = (CONFIG_DIR / "rules.toml").read_text()
    old = "[tiers.bronze]\nstars = 25\ncash_per_star = 0.02\nmin_weeks_between_offers = 1"
    assert old in text
    path.write_text(text.replace(old, old[:-1] + "2"))


def ask(live: LiveServer, members: list[int], week: int) -> dict[int, dict[str, Any]]:
    """Each member's challenge for ``week``."""
    out = {}
    with live.client() as client:
        for member in members:
            r = client.get(PATH.format(member), params={"week": week})
            assert r.status_code == 200, r.text
            out[member] = r.json()
    return out


def restart_settings(artifact_root: Path, rules_path: Path) -> Settings:
    """Settings both apps share (same embedded file); publish only when the store is empty."""
    settings = make_settings(artifact_root, rules_path, publish_on_start="if_empty")
    assert settings.embedded.path is not None
    return settings


def test_a_restart_keeps_every_challenge_and_the_offer_history(artifact_root: Path, rules_path: Path) -> None:
    settings = restart_settings(artifact_root, rules_path)
    with LiveServer(create_app(settings)) as live:
        week47 = ask(live, MEMBERS, 47)
        week48 = ask(live, MEMBERS, 48)
        with live.client() as client:
            counted = client.get("/metrics").text
    assert sum(c["status"] == "issued" for c in week48.values()) >= 20
    with LiveServer(create_app(settings)) as live:
        assert ask(live, MEMBERS, 47) == week47
        assert ask(live, MEMBERS, 48) == week48
        with live.client() as client:
            ready = client.get("/readyz").json()
    assert ready["model_version"] == "v1"
    assert "offers_decisions_total" in counted


def test_a_restart_does_not_bypass_the_frequency_cap(artifact_root: Path, tmp_path: Path) -> None:
    rules_path = tmp_path / "two-week-gap.toml"
    two_week_gap_rules(rules_path)
    settings = restart_settings(artifact_root, rules_path)
    with LiveServer(create_app(settings)) as live:
        offered = [m for m, c in ask(live, MEMBERS, 47).items() if c["status"] == "issued"]
    assert len(offered) > len(MEMBERS) // 2
    with LiveServer(create_app(settings)) as live:
        week48 = ask(live, offered, 48)
    refused = {m: c["reason_code"] for m, c in week48.items()}
    assert refused == dict.fromkeys(offered, "tier_frequency")
