"""Multiple-comparison corrections over a family of p-values (pure functions, no I/O).

- ``holm``: Holm's step-down (1979); controls the family-wise error rate (the chance of any false
  positive) under any dependence between the tests.
- ``bh``: Benjamini-Hochberg (1995) step-up; controls the false discovery rate (the expected share of
  false positives among the discoveries) for independent or positively dependent tests.
- ``none``: the raw p-values.

Both equal ``statsmodels.stats.multitest.multipletests`` (methods ``holm`` and ``fdr_bh``); they are
written out here to stay vectorised and typed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt

from engine.errors import ExperimentError

Correction = Literal["holm", "bh", "none"]


def adjust_p_values(p_values: Sequence[float] | npt.NDArray[np.float64], method: Correction) -> list[float]:
    """Adjusted p-values in the input order; reject a hypothesis when its adjusted p is below alpha.

    Raises
    ------
    ExperimentError
        A p-value outside ``[0, 1]`` or not a number.
    """
    p = np.asarray(p_values, dtype=np.float64)
    if p.size and not np.all((p >= 0) & (p <= 1)):
        raise ExperimentError(f"p-values must lie in [0, 1]; got {p[~((p >= 0) & (p <= 1))].tolist()}")
    if method == "none" or p.size == 0:
        return p.tolist()
    m = p.size
    order = np.argsort(p, kind="stable")
    ranked = p[order]
    if method == "holm":
        # Step-down: the k-th smallest is multiplied by (m - k + 1), then made non-decreasing.
        stepped = np.maximum.accumulate((m - np.arange(m)) * ranked)
    else:
        # Step-up: the k-th smallest times m / k, then made non-increasing from the largest down.
        stepped = np.minimum.accumulate((m / np.arange(1, m + 1) * ranked)[::-1])[::-1]
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(stepped, 1.0)
    return adjusted.tolist()
