"""Member blocks on Ray Data: ``map_batches`` over an actor pool, the shared inputs broadcast once.

The shared inputs (statistics, fitted models) go into Ray's object store once with ``ray.put``; each of
``workers`` actors fetches them once when it starts (zero-copy for numpy buffers on one node), then runs
the blocks it is given. Blocks are put one by one, so a worker only receives its own. Results come back
pickled, one row per block, and are put back in block order: the caller sees exactly what
:class:`~engine.batch.mapper.InProcessMapper` would return. Ray is imported lazily: it is an optional
dependency (``pip install 'offer-engine[distributed]'``).

Library errors are mapped in one place, :func:`ray_errors`: a missing Ray, an unreachable cluster and a
failed block all become :class:`~engine.errors.BatchEngineError`.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np

from engine.batch.config import LOCAL
from engine.batch.mapper import BlockStat, run_block
from engine.errors import BatchEngineError, OfferEngineError

S = TypeVar("S")
B = TypeVar("B")
R = TypeVar("R")

INSTALL_HINT = "pip install 'offer-engine[distributed]'"


@contextmanager
def ray_errors(doing: str) -> Iterator[None]:
    """Turn Ray's exceptions (and its absence) into :class:`BatchEngineError` saying what was being done."""
    try:
        yield
    except OfferEngineError:
        raise
    except ImportError as exc:
        raise BatchEngineError(f"{doing}: Ray is not installed ({INSTALL_HINT})") from exc
    except Exception as exc:  # Ray raises many unrelated types (RayTaskError, ConnectionError, ...)
        raise BatchEngineError(f"{doing}: {type(exc).__name__}: {exc}") from exc


class _BlockWorker:
    """A Ray Data actor: fetches the shared inputs once, then runs ``fn`` on each block it is given."""

    def __init__(self, fn: Callable[[Any, Any], Any], shared: list[Any], blocks: list[Any]) -> None:
        import ray

        self._fn = fn
        # Object refs travel inside lists so that Ray hands them over unresolved; fetched once here.
        self._shared = ray.get(shared[0])
        self._blocks = blocks

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import ray

        payloads: list[bytes] = []
        stats: list[BlockStat] = []
        for index in batch["block"].tolist():
            result, stat = run_block(self._fn, self._shared, ray.get(self._blocks[index]), index)
            payloads.append(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
            stats.append(stat)
        return {
            "block": np.asarray([s.block for s in stats], dtype=np.int64),
            "payload": np.asarray(payloads, dtype=object),
            "seconds": np.asarray([s.seconds for s in stats], dtype=np.float64),
            "worker": np.asarray([s.worker for s in stats], dtype=np.int64),
            "peak_rss_mib": np.asarray([s.peak_rss_mib for s in stats], dtype=np.float64),
        }


class RayMapper:
    """Runs member blocks on Ray: a private local instance (``address="local"``) or a running cluster.

    Parameters
    ----------
    address
        ``"local"``, or what ``ray.init(address=...)`` takes (``"auto"``, ``"ray://head:10001"``).
    workers
        Actors in the pool, each with one CPU and one copy of the shared inputs. A local instance gets
        ``max(workers, cpus)`` CPUs so that the pool always fits.
    cpus
        CPUs of a local instance (default: ``workers``).

    Where Ray is already initialised in this process (a notebook, a Ray job, the test session), that
    instance is used whatever ``address`` says, and :meth:`close` leaves it running.
    """

    def __init__(self, address: str = LOCAL, workers: int = 2, *, cpus: int | None = None) -> None:
        self.workers = workers
        self.last_stats: list[BlockStat] = []
        with ray_errors(f"starting Ray ({address})"):
            import ray
            from ray.data import DataContext

            self._started = not ray.is_initialized()
            if self._started:
                if address == LOCAL:
                    cpus = max(workers, cpus or workers)
                    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
                else:
                    ray.init(address=address, include_dashboard=False, log_to_driver=False)
            context = DataContext.get_current()
            context.execution_options.preserve_order = True
            context.enable_progress_bars = False
            context.print_on_execution_start = False

    def map(self, fn: Callable[[S, B], R], shared: S, blocks: Sequence[B]) -> list[R]:
        """``[fn(shared, block) for block in blocks]`` on the actor pool, in block order."""
        if not blocks:
            self.last_stats = []
            return []
        with ray_errors(f"running {len(blocks)} member block(s) on Ray"):
            import ray
            import ray.data

            shared_ref = ray.put(shared)
            block_refs = [ray.put(block) for block in blocks]
            dataset = ray.data.from_items([{"block": i} for i in range(len(blocks))])
            rows = dataset.map_batches(
                _BlockWorker,
                fn_constructor_kwargs={"fn": fn, "shared": [shared_ref], "blocks": block_refs},
                batch_size=1,
                batch_format="numpy",
                compute=ray.data.ActorPoolStrategy(size=min(self.workers, len(blocks))),
                num_cpus=1,
            ).take_all()
            rows.sort(key=lambda row: int(row["block"]))
            if [int(row["block"]) for row in rows] != list(range(len(blocks))):
                raise BatchEngineError(f"Ray returned {len(rows)} results for {len(blocks)} member blocks")
            self.last_stats = [
                BlockStat(int(r["block"]), float(r["seconds"]), int(r["worker"]), float(r["peak_rss_mib"]))
                for r in rows
            ]
            return [pickle.loads(row["payload"]) for row in rows]

    def close(self) -> None:
        """Shut down the Ray instance if this mapper started it."""
        if self._started:
            import ray

            ray.shutdown()
            self._started = False
