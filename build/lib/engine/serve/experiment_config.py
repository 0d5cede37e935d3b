"""``[experiments]`` of ``configs/serve.toml``: the experiments the service runs (see ``experiment.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from engine.config import StrictModel
from engine.experiments.config import DEFAULT_CONFIG_PATH, StoreConfig

#: Defaults of the purchase window (see ``configs/serve.toml``): a day for tills that were offline, and
#: five minutes of clock skew.
DEFAULT_LATE_EVENT_GRACE_S = 86_400.0
DEFAULT_CLOCK_SKEW_S = 300.0


class ExperimentsServeConfig(StrictModel):
    """``[experiments]`` in ``configs/serve.toml``: which experiments run and where their events go."""

    definitions: tuple[Path, ...] = Field(min_length=1)
    config_path: Path = DEFAULT_CONFIG_PATH
    store: StoreConfig | None = None
    max_events: int = Field(ge=1)
    progress_cache_entries: int = Field(ge=1)
    progress_ttl_s: float | None = Field(default=None, gt=0)
    #: Where exposure writes run: "thread" (a worker thread; for stores that flush to disk on each
    #: commit) or "inline" (on the event loop, the exposures of concurrent requests group-committed in
    #: one write; cheaper for short writes, e.g. SQLite NORMAL or Redis).
    exposure_writes: Literal["thread", "inline"] = "thread"
    #: A purchase still counts this long after its week ended (tills that were offline send late).
    late_event_grace_s: float = Field(default=DEFAULT_LATE_EVENT_GRACE_S, ge=0)
    #: How far a till's clock may run ahead of ours before its purchases count as not yet made.
    clock_skew_s: float = Field(default=DEFAULT_CLOCK_SKEW_S, ge=0)
