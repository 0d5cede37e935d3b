"""Shared fixtures: a tiny synthetic data set for unit tests and the full Complete Journey load."""

from __future__ import annotations

import pytest

from engine.data.schema import Dataset


@pytest.fixture(scope="session")
def synthetic_dataset() -> Dataset:
    """200 members, 300 items, 20 weeks; fixed seed, generated in well under a second."""
    from engine.data.synthetic import generate_synthetic

    return generate_synthetic(n_members=200, n_items=300, n_weeks=20, seed=7)


@pytest.fixture(scope="session")
def cj_dataset() -> Dataset:
    """The full Complete Journey data through the default config (a few seconds, loaded once)."""
    from engine.data.loaders import load_dataset

    return load_dataset()
