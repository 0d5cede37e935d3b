"""The weekly challenge batch one member block at a time; the budget stays one global step after it.

:func:`split_members` cuts an artifact into artifacts of ``size`` members each (the per-member tables
sliced, the small shared tables kept whole), in the order :func:`~engine.candidates.iter_member_candidates`
visits members, so the challenges of the blocks, concatenated, are those of the whole artifact in the
same order. :func:`assemble_block` is the one per-block function: every member of a block assembled
against the shared :class:`AssemblyInputs` (catalog, rules, week, versions). The weekly budget
(:func:`~engine.challenge.week.allocate_week`, its shadow price over every member) runs after.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from engine.artifact import CandidateArtifact
from engine.candidates import Catalog, Id, iter_member_candidates, member_index, paused_gc
from engine.challenge.assemble import assemble_challenge
from engine.challenge.model import Challenge
from engine.data.schema import MEMBER_ID
from engine.rules.config import RulesConfig
from engine.rules.history import MemberHistory
from engine.rules.negative import MemberSignals

#: The artifact tables with one or more rows per member: the ones a block slices.
MEMBER_TABLES: tuple[str, ...] = ("members", "habitual", "stretch", "member_categories", "member_loyalty")


@dataclass(frozen=True)
class AssemblyInputs:
    """What every block of the challenge batch shares."""

    catalog: Catalog
    rules: RulesConfig
    week: int
    model_version: str
    rules_version: str


@dataclass(frozen=True)
class MemberBlock:
    """One unit of work: an artifact holding a block of members, what the rules remember of them and
    their negative signals."""

    artifact: CandidateArtifact
    history: Mapping[Id, MemberHistory] = field(default_factory=dict)
    signals: Mapping[Id, MemberSignals] = field(default_factory=dict)


def assemble_block(inputs: AssemblyInputs, block: MemberBlock) -> list[Challenge]:
    """Every member's challenge in ``block``, in artifact order (before the weekly budget)."""
    # the batch allocates millions of small acyclic objects that all stay alive: see paused_gc
    with paused_gc():
        return [
            assemble_challenge(
                member,
                inputs.catalog,
                inputs.rules,
                inputs.week,
                history=block.history.get(member.member_id),
                signals=block.signals.get(member.member_id),
                model_version=inputs.model_version,
                rules_version=inputs.rules_version,
            )
            for member in iter_member_candidates(block.artifact)
        ]


def split_members(
    artifact: CandidateArtifact,
    size: int,
    history: Mapping[Id, MemberHistory] | None = None,
    signals: Mapping[Id, MemberSignals] | None = None,
) -> list[MemberBlock]:
    """``artifact`` as blocks of at most ``size`` members, in member order; rows keep their order.

    A member's rows all go to its block; members known only from the candidate tables come last, as
    in :func:`~engine.candidates.iter_member_candidates`. ``history`` and ``signals`` are split alongside.
    """
    history = history or {}
    signals = signals or {}
    index, _ = member_index(artifact)
    n_blocks = max(-(-len(index) // size), 1)
    sliced: dict[str, list[pd.DataFrame]] = {}
    for name in MEMBER_TABLES:
        frame = artifact.table(name)
        block_of = index.get_indexer(frame[MEMBER_ID]) // size
        order = np.argsort(block_of, kind="stable")
        bounds = np.searchsorted(block_of[order], np.arange(n_blocks + 1))
        sliced[name] = [
            frame.iloc[order[bounds[b] : bounds[b + 1]]].reset_index(drop=True) for b in range(n_blocks)
        ]
    ids = index.tolist()
    blocks: list[MemberBlock] = []
    for b in range(n_blocks):
        part = replace(artifact, **{name: sliced[name][b] for name in MEMBER_TABLES})
        members = ids[b * size : (b + 1) * size]
        blocks.append(
            MemberBlock(
                part,
                {m: history[m] for m in members if m in history},
                {m: signals[m] for m in members if m in signals},
            )
        )
    return blocks
