"""Search the combinations of two habitual picks and one stretch pick for those that pass the guards.

Pure and vectorised: every pair ``i < j`` of the top eligible habitual candidates is combined with every
top eligible stretch candidate, every guard is evaluated on all combinations at once, and the passing
ones are ranked by the reward they carry, then by reachability times the stretch category's value
(ties: the model's favourite first).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from engine.rules.config import EconomicGuard, HardGuard, TierPolicy
from engine.rules.guards import BoolArray, ComboTable, FloatArray, evaluate_combos
from engine.rules.lift import LiftEstimate, logit_shift_array

IntArray = npt.NDArray[np.intp]


@dataclass(frozen=True)
class PickArrays:
    """One pick kind's eligible candidates as arrays, best first.

    ``margin`` is the unit margin (what the hard guard counts), ``value`` what one incremental purchase
    is worth (the margin, plus the habit value for a stretch category), ``trial`` whether the pick's
    lift is only a prior, ``rank_value`` the stretch value that ranks passing combinations
    (:attr:`~engine.rules.config.Search.stretch_value`; ``value`` unless told otherwise).
    """

    margin: FloatArray
    value: FloatArray
    p_base: FloatArray
    p_offer: FloatArray
    category: npt.NDArray[np.object_]
    trial: BoolArray
    rank_value: FloatArray

    @classmethod
    def build(
        cls,
        margins: Sequence[float],
        values: Sequence[float],
        p_base: Sequence[float],
        lifts: Sequence[LiftEstimate],
        categories: Sequence[str],
        quantile: float,
        rank_values: Sequence[float] | None = None,
    ) -> PickArrays:
        """Arrays from plain lists; ``p_offer`` from each pick's lift at ``quantile``."""
        base = np.asarray(p_base, dtype=np.float64)
        value = np.asarray(values, dtype=np.float64)
        beta = np.asarray([e.bound(quantile) for e in lifts], dtype=np.float64)
        return cls(
            margin=np.asarray(margins, dtype=np.float64),
            value=value,
            p_base=base,
            p_offer=logit_shift_array(base, beta),
            category=np.asarray(categories, dtype=object),
            trial=np.asarray([e.status == "prior" for e in lifts], dtype=np.bool_),
            rank_value=value if rank_values is None else np.asarray(rank_values, dtype=np.float64),
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
    """Every combination with its guard verdicts and score, and the passing ones ranked best first."""

    ci: IntArray
    cj: IntArray
    cs: IntArray
    table: ComboTable
    distinct: BoolArray
    score: FloatArray
    ranked: IntArray

    def summary(self) -> str:
        """How many combinations failed which guard (for a ``no_offer`` explanation)."""
        t = self.table
        return (
            f"of {len(self.ci)} combination(s): {int((~t.evaluable).sum())} could not be evaluated, "
            f"{int((t.evaluable & ~t.hard_ok).sum())} failed the hard guard, "
            f"{int((t.evaluable & ~t.economic_ok).sum())} failed the economic guard, "
            f"{int((t.evaluable & ~t.reachable).sum())} were out of reach, "
            f"{int((~self.distinct).sum())} had a stretch category equal to a habitual pick's"
        )


def challenge_score(p_complete: FloatArray, stretch_value: FloatArray, exponent: float) -> FloatArray:
    """``P(complete | offer) x stretch value ** exponent``: never lower for a more likely pick."""
    with np.errstate(invalid="ignore"):
        return np.asarray(p_complete * np.power(np.fmax(stretch_value, 0.0), exponent), dtype=np.float64)


def search_combinations(
    habitual: PickArrays,
    stretch: PickArrays,
    reward: TierPolicy,
    hard: HardGuard,
    economic: EconomicGuard,
    value_exponent: float,
    reaction_cost: float = 0.0,
) -> SearchResult:
    """Evaluate every guard on every combination; rank the passing ones.

    Ranked by the reward they carry (the tier's full reward first), then by :func:`challenge_score`,
    then by the model's order; a tier that prefers ``reach`` swaps the first two keys. Expected profit
    is a guard, not the objective: ranking by it would prefer the least likely habitual picks, whose
    reward is least often paid.
    """
    nh = len(habitual.margin)
    ci, cj, cs = combination_indices(nh, len(stretch.margin))
    # one (picks x [margin, value, p_base, p_offer]) matrix and one fancy index instead of twelve
    values = np.concatenate(
        (
            np.column_stack((habitual.margin, habitual.value, habitual.p_base, habitual.p_offer)),
            np.column_stack((stretch.margin, stretch.value, stretch.p_base, stretch.p_offer)),
        )
    )
    combos = values[_pick_index(nh, len(stretch.margin))]
    table = evaluate_combos(
        combos[:, :, 0],
        combos[:, :, 1],
        combos[:, :, 2],
        combos[:, :, 3],
        reward,
        hard,
        economic,
        reaction_cost,
    )
    # the stretch pick must be new next to the habitual picks too (cold-start members bought nothing)
    new_cat = stretch.category[cs]
    distinct = (habitual.category[ci] != new_cat) & (habitual.category[cj] != new_cat)
    score = challenge_score(table.p_complete, stretch.rank_value[cs], value_exponent)
    ok = np.flatnonzero(table.ok & distinct)
    first, second = (
        (-table.stars[ok], -score[ok]) if reward.prefer == "reward" else (-score[ok], -table.stars[ok])
    )
    ranked = ok[np.lexsort((ok, second, first))]
    return SearchResult(ci, cj, cs, table, distinct.astype(bool), score, ranked)
