"""Search the combinations of two habitual picks and one stretch pick for those that pass the guards.

Pure and vectorised: every pair ``i < j`` of the top eligible habitual candidates is combined with every
top eligible stretch candidate, both guards are evaluated on all combinations at once, and the passing
ones are ranked by expected incremental profit (ties: the model's favourite first).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from engine.candidates import ItemInfo
from engine.rules.config import EconomicGuard, HardGuard, Lift
from engine.rules.guards import BoolArray, ComboTable, FloatArray, apply_lift_array, evaluate_combos

IntArray = npt.NDArray[np.intp]


@dataclass(frozen=True)
class PickArrays:
    """One pick kind's eligible candidates as arrays, best first."""

    margin: FloatArray
    p_base: FloatArray
    p_offer: FloatArray
    category: npt.NDArray[np.object_]

    @classmethod
    def of(cls, picks: Sequence[tuple[float, ItemInfo]], lift: Lift) -> PickArrays:
        """Arrays from ``(p_base, item)`` pairs; margins are the items' unit margins."""
        return cls.build(
            [i.unit_margin for _, i in picks], [p for p, _ in picks], [i.category for _, i in picks], lift
        )

    @classmethod
    def build(
        cls, margins: Sequence[float], p_base: Sequence[float], categories: Sequence[str], lift: Lift
    ) -> PickArrays:
        """Arrays from plain lists; ``p_offer`` from the lift assumption."""
        base = np.asarray(p_base, dtype=np.float64)
        return cls(
            margin=np.asarray(margins, dtype=np.float64),
            p_base=base,
            p_offer=apply_lift_array(base, lift),
            category=np.asarray(categories, dtype=object),
        )


@lru_cache(maxsize=256)
def combination_indices(n_habitual: int, n_stretch: int) -> tuple[IntArray, IntArray, IntArray]:
    """Indices (i, j, s) of every habitual pair i < j with every stretch pick, best ranks first.

    Cached (the same few shapes recur for every member); the arrays are read-only.
    """
    i, j = np.triu_indices(n_habitual, 1)
    # pairs ordered by the sum of their ranks so that combination 0 is the model's favourite
    order = np.lexsort((j, i + j))
    i, j = i[order], j[order]
    out = (np.repeat(i, n_stretch), np.repeat(j, n_stretch), np.tile(np.arange(n_stretch), len(i)))
    for arr in out:
        arr.flags.writeable = False
    return out


@lru_cache(maxsize=256)
def _pick_index(n_habitual: int, n_stretch: int) -> IntArray:
    """``(combinations, 3)`` rows into the stacked habitual-then-stretch pick arrays."""
    ci, cj, cs = combination_indices(n_habitual, n_stretch)
    index = np.column_stack((ci, cj, cs + n_habitual))
    index.flags.writeable = False
    return index


@dataclass(frozen=True)
class SearchResult:
    """Every combination with its guard verdicts, and the passing ones ranked best first."""

    ci: IntArray
    cj: IntArray
    cs: IntArray
    table: ComboTable
    distinct: BoolArray
    ranked: IntArray

    def summary(self) -> str:
        """How many combinations failed which guard (for a ``no_offer`` explanation)."""
        t = self.table
        return (
            f"of {len(self.ci)} combination(s): {int((~t.evaluable).sum())} could not be evaluated, "
            f"{int((t.evaluable & ~t.hard_ok).sum())} failed the hard guard, "
            f"{int((t.evaluable & ~t.economic_ok).sum())} failed the economic guard, "
            f"{int((~self.distinct).sum())} had a stretch category equal to a habitual pick's"
        )


def search_combinations(
    habitual: PickArrays, stretch: PickArrays, reward_cost: float, hard: HardGuard, economic: EconomicGuard
) -> SearchResult:
    """Evaluate both guards on every combination; rank the passing ones by expected profit."""
    nh = len(habitual.margin)
    ci, cj, cs = combination_indices(nh, len(stretch.margin))
    # one (picks x [margin, p_base, p_offer]) matrix and one fancy index instead of nine
    values = np.concatenate(
        (
            np.column_stack((habitual.margin, habitual.p_base, habitual.p_offer)),
            np.column_stack((stretch.margin, stretch.p_base, stretch.p_offer)),
        )
    )
    combos = values[_pick_index(nh, len(stretch.margin))]
    table = evaluate_combos(combos[:, :, 0], combos[:, :, 1], combos[:, :, 2], reward_cost, hard, economic)
    # the stretch pick must be new next to the habitual picks too (cold-start members bought nothing)
    new_cat = stretch.category[cs]
    distinct = (habitual.category[ci] != new_cat) & (habitual.category[cj] != new_cat)
    ok = np.flatnonzero(table.ok & distinct)
    ranked = ok[np.lexsort((ok, -table.expected_profit[ok]))]
    return SearchResult(ci, cj, cs, table, distinct.astype(bool), ranked)
