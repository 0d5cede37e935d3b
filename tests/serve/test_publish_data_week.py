"""Serving knows each published model's data week (its challenge week), to date members' purchases."""

from __future__ import annotations

from pathlib import Path

from engine.serve.publish import build_publication, publish
from engine.serve.versions import VersionCache
from tests.serve.conftest import make_artifact, make_settings, new_store, run


def test_a_published_versions_data_week_is_its_challenge_week(tmp_path: Path) -> None:
    artifact = make_artifact("v1")
    settings = make_settings(tmp_path / "artifacts", tmp_path / "rules.toml")

    async def read() -> int | None:
        store = new_store(settings)
        try:
            await publish(store, build_publication(artifact))
            return (await VersionCache(store).get("v1")).data_week
        finally:
            await store.close()

    assert run(read()) == artifact.manifest.challenge_week
