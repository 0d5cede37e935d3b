"""The challenge week scored one member block at a time: the unit of work of the weekly batch.

:func:`scoring_inputs` gathers, once, what every block reads: the stretch inputs (category adoption
rates and popularity, co-occurrence, the neighbour pool, each member's purchase rows), the fitted
category LightFM model and both rankers. :func:`challenge_blocks` cuts the members into blocks, each
carrying its own habitual pairs (features and LightFM scores; item-level statistics are over all
members, so they are built before the split). :func:`score_block` turns one block into its members'
artifact rows: habitual pairs ranked and cut to ``k_habitual``, stretch pairs built, scored and cut by
:func:`~engine.train.tables.top_stretch`. Whatever runs the blocks (this
process or Ray, :mod:`engine.batch`), the same blocks go through the same function, so the artifact is
the same to the bit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from engine.train.config import CandidateParams
from engine.train.history import CATEGORY_IDX, MEMBER_IDX
from engine.train.model import LightFMModel
from engine.train.pairs import with_lfm
from engine.train.ranker import Ranker
from engine.train.stretch import MemberParts, StretchInputs, member_blocks, stretch_block
from engine.train.tables import top_k_per_member, top_stretch


@dataclass(frozen=True)
class ScoringInputs:
    """What every member block of the challenge week shares: computed once, sent once to each worker.

    Attributes
    ----------
    stretch
        The stretch inputs at the challenge week.
    category_model
        The category LightFM model fitted through the challenge week.
    habitual_ranker, stretch_ranker
        The fitted rankers.
    candidates
        How many candidates of each kind the artifact keeps.
    """

    stretch: StretchInputs
    category_model: LightFMModel
    habitual_ranker: Ranker
    stretch_ranker: Ranker
    candidates: CandidateParams

    def shared(self) -> ScoringInputs:
        """What is sent to every worker: the stretch inputs without any member's rows (each
        :class:`ScoringBlock` brings those of its members) and the category model's representations
        without its optimiser state."""
        return replace(self, stretch=self.stretch.shared(), category_model=self.category_model.for_scoring())


@dataclass(frozen=True)
class ScoringBlock:
    """One unit of work: a block of consecutive active members and their own habitual pairs.

    The habitual pairs (features and LightFM scores, built over all members because item statistics
    need them all) and the members' own statistics and purchase rows (``stretch``) travel with their
    block rather than with the shared inputs, so a worker only receives the rows of the blocks it scores.
    """

    members: np.ndarray
    habitual: pd.DataFrame
    stretch: MemberParts


def scoring_inputs(
    stretch: StretchInputs,
    category_model: LightFMModel,
    rankers: tuple[Ranker, Ranker],
    candidates: CandidateParams,
) -> ScoringInputs:
    """The shared inputs of :func:`score_block`; ``rankers`` are the (habitual, stretch) rankers."""
    return ScoringInputs(stretch, category_model, *rankers, candidates)


def challenge_blocks(
    inputs: ScoringInputs, habitual: pd.DataFrame, member_block: int, n_members: int
) -> list[ScoringBlock]:
    """The active members in consecutive blocks of ``member_block``, each with its habitual pairs.

    Every member with habitual pairs is active before the cutoff, so each pair goes to exactly one
    block; a member's pairs keep their order.
    """
    habitual = habitual.sort_values(MEMBER_IDX, kind="stable").reset_index(drop=True)
    members = habitual[MEMBER_IDX].to_numpy()
    outside = np.setdiff1d(np.unique(members), inputs.stretch.members)
    if outside.size:  # an invariant of History: a member with purchases is active
        raise ValueError(f"habitual pairs of {outside.size} member(s) not active before the cutoff")
    starts = np.searchsorted(members, np.arange(n_members + 1))
    blocks = []
    for block in member_blocks(inputs.stretch.members, member_block):
        lo, hi = (starts[block[0]], starts[block[-1] + 1]) if len(block) else (0, 0)
        blocks.append(ScoringBlock(block, habitual.iloc[lo:hi], inputs.stretch.member_parts(block)))
    return blocks


def score_block(inputs: ScoringInputs, block: ScoringBlock) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One block's artifact rows: (habitual top ``k_habitual``, stretch top ``k_stretch``) with ranks.

    Per member, so the rows of a block are those the member gets in any other block of the same size.
    """
    hab = block.habitual.assign(score=inputs.habitual_ranker.predict_proba(block.habitual))
    hab_top = top_k_per_member(hab, "score", inputs.candidates.k_habitual)
    members = block.members
    pairs = stretch_block(inputs.stretch.with_parts(block.stretch), members)
    lfm = inputs.category_model.score_pairs(pairs[MEMBER_IDX].to_numpy(), pairs[CATEGORY_IDX].to_numpy())
    pairs = with_lfm(pairs, lfm)
    st_top = top_stretch(pairs.assign(score=inputs.stretch_ranker.predict_proba(pairs)), inputs.candidates)
    return hab_top, st_top
