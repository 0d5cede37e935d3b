"""Each model version's shared data (catalog, cold-start record, id kind), fetched once and kept decoded."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import orjson

from engine.candidates import Catalog, MemberCandidates
from engine.errors import ArtifactError, StoreUnavailable
from engine.serve.publish import catalog_from_blob
from engine.serve.shadow import BLOB as SHADOW_BLOB
from engine.serve.shadow import PublishedPrices, prices_from_blob
from engine.serve.store import IssueStore

#: Versions whose catalog and cold-start record stay decoded in memory (current, previous, one spare).
CACHED_VERSIONS = 3


@dataclass(frozen=True, slots=True)
class VersionData:
    """A model version's decoded catalog and cold-start record, and whether its member ids are ints."""

    catalog: Catalog
    cold_start: MemberCandidates | None
    int_ids: bool
    #: The budget's shadow prices computed at publication (None: no budget, or published without).
    prices: PublishedPrices | None = None
    #: The model's challenge week, a week of the data (its manifest): purchase weeks in the member
    #: records count against it (None: published without a manifest).
    data_week: int | None = None


def _challenge_week(manifest: bytes) -> int:
    """The ``challenge_week`` of a published manifest (a malformed one is an :class:`ArtifactError`)."""
    try:
        return int(orjson.loads(manifest)["challenge_week"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ArtifactError(f"published manifest has no readable challenge_week: {exc!r}") from exc


class VersionCache:
    """Each model version's catalog and cold-start record, fetched from the store once and decoded."""

    def __init__(self, store: IssueStore) -> None:
        self._store = store
        self._data: dict[str, VersionData] = {}
        self._loading: dict[str, asyncio.Lock] = {}

    async def get(self, version: str) -> VersionData:
        """The decoded shared data of ``version``; concurrent first callers share one load."""
        data = await self.find(version)
        if data is None:
            # Only possible if two publishes removed this version between our lookup and now.
            raise StoreUnavailable(f"model version {version!r} disappeared from the store; retry")
        return data

    async def find(self, version: str) -> VersionData | None:
        """Like :meth:`get`, but None when the store no longer holds ``version`` (older versions are
        deleted when newer ones are published)."""
        data = self._data.get(version)
        if data is not None:
            return data
        lock = self._loading.setdefault(version, asyncio.Lock())
        async with lock:
            data = self._data.get(version)
            if data is None:
                data = await self._load(version)
                if data is not None:
                    if len(self._data) >= CACHED_VERSIONS:
                        del self._data[next(iter(self._data))]
                    self._data[version] = data
        self._loading.pop(version, None)
        return data

    async def _load(self, version: str) -> VersionData | None:
        catalog = await self._store.get_shared(version, "catalog")
        if catalog is None:
            return None
        cold = await self._store.get_shared(version, "cold_start")
        kind = await self._store.get_shared(version, "id_kind")
        prices = await self._store.get_shared(version, SHADOW_BLOB)
        manifest = await self._store.get_shared(version, "manifest")
        return VersionData(
            catalog_from_blob(catalog),
            None if cold is None else MemberCandidates.from_json(cold),
            kind == b"int",
            prices_from_blob(prices),
            None if manifest is None else _challenge_week(manifest),
        )
