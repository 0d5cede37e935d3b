"""One local Ray instance for the batch tests (starting Ray takes seconds; it is shared by the session)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.batch.ray_mapper import RayMapper


@pytest.fixture(scope="session")
def ray_mapper() -> Iterator[RayMapper]:
    """Ray in local mode with two block workers, shut down at the end of the session."""
    mapper = RayMapper("local", workers=2)
    yield mapper
    mapper.close()
