"""A stable hash of the data a model was trained on, so runs on the same data can be recognised."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from engine.data.schema import Dataset


def data_fingerprint(*frames: pd.DataFrame) -> str:
    """SHA-256 over the row hashes and column names of ``frames`` (row order matters)."""
    digest = hashlib.sha256()
    for frame in frames:
        digest.update(",".join(map(str, frame.columns)).encode())
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def training_fingerprint(cut: Dataset) -> str:
    """The fingerprint a model trained on ``cut`` (the data before its cutoff) records in its manifest."""
    return data_fingerprint(cut.transactions, cut.catalog)
