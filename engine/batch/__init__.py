"""Running the weekly batch's member blocks in this process or on a distributed engine (Ray).

Public API
    :class:`BlockMapper` (the seam), :class:`InProcessMapper`, :class:`BlockStat`,
    :func:`peak_rss_mib`                                                     ``mapper.py``
    :class:`RayMapper` (Ray Data ``map_batches``; Ray is optional)          ``ray_mapper.py``
    :class:`BatchConfig`, :class:`SingleEngine`, :class:`RayEngine`,
    :func:`load_batch_config`, :func:`resolve_engine` (with CLI options)    ``config.py``
    :func:`open_mapper`: the mapper a config names                          here
"""

from __future__ import annotations

from engine.batch.config import BatchConfig, RayEngine, SingleEngine, load_batch_config, resolve_engine
from engine.batch.mapper import BlockMapper, BlockStat, InProcessMapper, peak_rss_mib


def open_mapper(config: BatchConfig) -> BlockMapper:
    """The mapper ``config.engine`` names; close it when done (a local Ray instance stops then)."""
    engine = config.engine
    if engine.type == "ray":
        from engine.batch.ray_mapper import RayMapper

        return RayMapper(engine.address, engine.workers)
    return InProcessMapper()


__all__ = [
    "BatchConfig",
    "BlockMapper",
    "BlockStat",
    "InProcessMapper",
    "RayEngine",
    "SingleEngine",
    "load_batch_config",
    "open_mapper",
    "peak_rss_mib",
    "resolve_engine",
]
