"""The seam between the weekly batch and the engine that runs it: map a function over member blocks.

:class:`BlockMapper` is the whole contract: ``map(fn, shared, blocks)`` returns ``[fn(shared, b) for b in
blocks]`` in block order, where ``shared`` is what every block reads (statistics, fitted models: computed
once, sent once to each worker) and each block the unit of work. :class:`InProcessMapper` is that list
comprehension; :class:`~engine.batch.ray_mapper.RayMapper` runs it on Ray Data. Both record a
:class:`BlockStat` per block (time, worker, its peak memory) for logs and benchmarks.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

S = TypeVar("S")
B = TypeVar("B")
R = TypeVar("R")


@dataclass(frozen=True)
class BlockStat:
    """How one block ran: its position, seconds in ``fn``, the worker's process id and peak RSS (MiB)."""

    block: int
    seconds: float
    worker: int
    peak_rss_mib: float


def peak_rss_mib() -> float:
    """This process's peak resident memory so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def run_block(fn: Callable[[S, B], R], shared: S, block: B, index: int) -> tuple[R, BlockStat]:
    """``fn(shared, block)`` with its :class:`BlockStat`: what every mapper does with one block."""
    start = time.perf_counter()
    result = fn(shared, block)
    return result, BlockStat(index, time.perf_counter() - start, os.getpid(), peak_rss_mib())


class BlockMapper(Protocol):
    """Runs ``fn`` over member blocks; the results are in block order whatever ran them.

    Attributes
    ----------
    workers
        Blocks that can run at once.
    last_stats
        One :class:`BlockStat` per block of the last :meth:`map`, in block order.
    """

    workers: int
    last_stats: list[BlockStat]

    def map(self, fn: Callable[[S, B], R], shared: S, blocks: Sequence[B]) -> list[R]:
        """``[fn(shared, block) for block in blocks]``; ``fn`` must be a module-level function."""
        ...

    def close(self) -> None:
        """Release what the mapper started (a local Ray instance); it cannot map afterwards."""
        ...


class InProcessMapper:
    """Every block in this process, one after the other: the single-process batch."""

    def __init__(self) -> None:
        self.workers = 1
        self.last_stats: list[BlockStat] = []

    def map(self, fn: Callable[[S, B], R], shared: S, blocks: Sequence[B]) -> list[R]:
        """``[fn(shared, block) for block in blocks]``."""
        results: list[R] = []
        stats: list[BlockStat] = []
        for index, block in enumerate(blocks):
            result, stat = run_block(fn, shared, block, index)
            results.append(result)
            stats.append(stat)
        self.last_stats = stats
        return results

    def close(self) -> None:
        """Nothing to release."""
