"""Which engine runs the weekly batch's member blocks: this process, or Ray (local or a cluster).

``configs/batch.toml`` holds one ``[engine]`` table; its ``type`` picks the implementation (a pydantic
discriminated union), so switching from one process to a Ray cluster is configuration only::

    [engine]
    type = "ray"
    address = "local"        # start Ray inside this process; or "auto" / "ray://head:10001"
    workers = 2              # block workers (Ray Data actors) running at once
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, PositiveInt

from engine.config import CONFIG_DIR, StrictModel, load_config, parse_config, read_toml
from engine.errors import ConfigError

DEFAULT_BATCH_CONFIG = CONFIG_DIR / "batch.toml"

#: ``address`` value that starts a private Ray instance inside the calling process.
LOCAL = "local"


class SingleEngine(StrictModel):
    """Every member block in this process, one after the other (the default)."""

    type: Literal["single"] = "single"


class RayEngine(StrictModel):
    """Member blocks as a Ray Data ``map_batches`` over an actor pool.

    Attributes
    ----------
    address
        ``"local"`` starts Ray inside this process with ``workers`` CPUs (tests, one machine); anything
        else is passed to ``ray.init(address=...)``: ``"auto"`` on a cluster node, ``"ray://head:10001"``
        from outside it.
    workers
        Block workers running at once; each holds one copy of the shared statistics and models.
    block_members
        Members per block of the challenge assembly (the candidate blocks follow ``[features]
        member_block`` of the training config, so that scores are bit-identical to one process).
    """

    type: Literal["ray"]
    address: str = LOCAL
    workers: PositiveInt = 2
    block_members: PositiveInt = 20_000


EngineConfig = Annotated[SingleEngine | RayEngine, Field(discriminator="type")]


class BatchConfig(StrictModel):
    """``configs/batch.toml``."""

    engine: EngineConfig = Field(default_factory=SingleEngine)

    @property
    def block_members(self) -> int | None:
        """Members per block of the challenge assembly; ``None``: one block of everyone."""
        return self.engine.block_members if self.engine.type == "ray" else None


def load_batch_config(path: Path | str = DEFAULT_BATCH_CONFIG) -> BatchConfig:
    """Read and validate the batch config; errors name the file and the key."""
    return load_config(path, BatchConfig)


def resolve_engine(path: Path | str, engine: str | None = None, address: str | None = None) -> BatchConfig:
    """The batch config of ``path`` with the command line's ``--engine`` / ``--address`` applied.

    ``--address`` implies Ray; ``--engine single`` drops the file's Ray settings. Errors name the file.
    """
    path = Path(path)
    data = read_toml(path)
    table = data.get("engine", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [engine] must be a table")
    if engine == "single" and address is not None:
        raise ConfigError(f"--address {address!r} is a Ray setting; it cannot go with --engine single")
    if engine == "single":
        table = {"type": "single"}
    elif engine is not None or address is not None:
        table = {**table, "type": engine or "ray"}
        if address is not None:
            table["address"] = address
    return parse_config({**data, "engine": table}, BatchConfig, f"{path} (with command-line options)")
