"""The challenge week scored one member block at a time: the unit of work of the weekly batch.

:func:`scoring_inputs` gathers, once, what every block reads: the stretch inputs (category adoption
rates and popularity, co-occurrence, the neighbour pool, each member's purchase rows), the habitual
pairs with their features and LightFM scores (item-level statistics are over all members, so they are
built before the split), the fitted category LightFM model and both rankers. :func:`score_block` turns
one block of members into their artifact rows: habitual pairs ranked and cut to ``k_habitual``, stretch
pairs built, scored and cut by :func:`~engine.train.tables.top_stretch`. Whatever runs the blocks (this
process or Ray, :mod:`engine.batch`), the same blocks go through the same function, so the artifact is
the same to the bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.train.config import CandidateParams
from engine.train.history import CATEGORY_IDX, MEMBER_IDX
from engine.train.model import LightFMModel
from engine.train.pairs import with_lfm
from engine.train.ranker import Ranker
from engine.train.stretch import StretchInputs, member_blocks, stretch_block
from engine.train.tables import top_k_per_member, top_stretch


@dataclass(frozen=True)
class ScoringInputs:
    """What every member block of the challenge week shares: computed once, sent once to each worker.

    Attributes
    ----------
    stretch
        The stretch inputs at the challenge week.
    habitual
        Habitual pairs of every member with features and LightFM scores, sorted by member (stable).
    habitual_starts
        Member ``m``'s habitual pairs are rows ``habitual_starts[m]:habitual_starts[m + 1]``.
    category_model
        The category LightFM model fitted through the challenge week.
    habitual_ranker, stretch_ranker
        The fitted rankers.
    candidates
        How many candidates of each kind the artifact keeps.
    """

    stretch: StretchInputs
    habitual: pd.DataFrame
    habitual_starts: np.ndarray
    category_model: LightFMModel
    habitual_ranker: Ranker
    stretch_ranker: Ranker
    candidates: CandidateParams


def scoring_inputs(
    stretch: StretchInputs,
    habitual: pd.DataFrame,
    category_model: LightFMModel,
    rankers: tuple[Ranker, Ranker],
    candidates: CandidateParams,
    n_members: int,
) -> ScoringInputs:
    """The shared inputs of :func:`score_block`; ``rankers`` are the (habitual, stretch) rankers.

    Every member with habitual pairs is active before the cutoff, so it is in exactly one block.
    """
    habitual = habitual.sort_values(MEMBER_IDX, kind="stable").reset_index(drop=True)
    members = habitual[MEMBER_IDX].to_numpy()
    outside = np.setdiff1d(np.unique(members), stretch.members)
    if outside.size:  # an invariant of History: a member with purchases is active
        raise ValueError(f"habitual pairs of {outside.size} member(s) not active before the cutoff")
    starts = np.searchsorted(members, np.arange(n_members + 1))
    return ScoringInputs(stretch, habitual, starts, category_model, *rankers, candidates)


def challenge_blocks(inputs: ScoringInputs, member_block: int) -> list[np.ndarray]:
    """The active members in consecutive blocks of ``member_block`` (the training config's)."""
    return list(member_blocks(inputs.stretch.members, member_block))


def score_block(inputs: ScoringInputs, members: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One block's artifact rows: (habitual top ``k_habitual``, stretch top ``k_stretch``) with ranks.

    ``members`` is a block of consecutive ``inputs.stretch.members``. Per member, so the rows of a block
    are those the member gets in any other block of the same size.
    """
    if len(members):
        lo, hi = inputs.habitual_starts[members[0]], inputs.habitual_starts[members[-1] + 1]
        hab = inputs.habitual.iloc[lo:hi]
    else:
        hab = inputs.habitual.iloc[:0]
    hab = hab.assign(score=inputs.habitual_ranker.predict_proba(hab))
    hab_top = top_k_per_member(hab, "score", inputs.candidates.k_habitual)
    pairs = stretch_block(inputs.stretch, members)
    lfm = inputs.category_model.score_pairs(pairs[MEMBER_IDX].to_numpy(), pairs[CATEGORY_IDX].to_numpy())
    pairs = with_lfm(pairs, lfm)
    st_top = top_stretch(pairs.assign(score=inputs.stretch_ranker.predict_proba(pairs)), inputs.candidates)
    return hab_top, st_top
