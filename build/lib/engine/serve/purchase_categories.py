"""The category of each purchased item, read from the engine's catalog: the stretch pick is a category.

Any product of the stretch category bought in the challenge week counts for the stretch pick (the
suggested product is a hint), so every purchase stored carries its item's category. It comes from the
catalog of the model version that issued the member's challenge that week (the version the picks came
from), or the current version's when nothing was issued yet or that version is no longer stored. The
till's own ``category`` is never read: what counts towards a reward is the engine's to say.

An item the catalog does not know has no category: it is stored (the member's spend, for the
experiment analysis) but matches no pick, and the answer lists it as ``unknown_item``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import orjson

from engine.candidates import Catalog, ItemInfo
from engine.experiments.events import PurchaseEvent
from engine.serve.schemas import NotCounted
from engine.serve.store import Store
from engine.serve.versions import VersionCache


def find_item(catalog: Catalog, item_id: str) -> ItemInfo | None:
    """The item of ``catalog`` with id ``item_id``; None when the catalog does not know it.

    Events carry item ids as text; a catalog of numeric ids keys them as ints, so a canonical decimal
    id (``"17"``, not ``"017"``) is looked up as the int too.
    """
    info = catalog.get(item_id)
    if info is None and item_id.isascii() and item_id.isdigit() and str(int(item_id)) == item_id:
        info = catalog.get(int(item_id))
    return info


async def _catalog_for(
    store: Store, versions: VersionCache, member_id: str, week: int
) -> tuple[str | None, Catalog | None]:
    """The model version whose catalog classifies the member's purchases in ``week``, and that catalog."""
    issued = await store.get_issued(week, member_id)
    if issued is not None:
        version = orjson.loads(issued).get("model_version")
        data = None if not isinstance(version, str) else await versions.find(version)
        if data is not None:
            return version, data.catalog
    current = await store.current_version()
    data = None if current is None else await versions.find(current)
    return current, None if data is None else data.catalog


async def categorize(
    events: Sequence[PurchaseEvent], indices: Sequence[int], store: Store, versions: VersionCache
) -> tuple[list[PurchaseEvent], list[NotCounted]]:
    """``events`` with each item's category set, and the earning ones whose item the catalog lacks.

    Parameters
    ----------
    events
        The purchases to store (from :func:`engine.serve.purchases.admit_purchases`).
    indices
        Each event's position in the request body (for the answer's ``not_counted``).
    store, versions
        The online store (issued challenges, current version) and the decoded catalogs per version.
    """
    pairs = list(dict.fromkeys((str(e.member_id), e.week) for e in events))
    found = await asyncio.gather(*(_catalog_for(store, versions, m, w) for m, w in pairs))
    catalogs = dict(zip(pairs, found, strict=True))
    out: list[PurchaseEvent] = []
    unknown: list[NotCounted] = []
    for index, event in zip(indices, events, strict=True):
        version, catalog = catalogs[(str(event.member_id), event.week)]
        info = None if catalog is None else find_item(catalog, str(event.item_id))
        # An item without a category in the catalog counts only as itself (never for a category).
        out.append(event.model_copy(update={"category": (info.category or None) if info else None}))
        if info is not None or not event.earns:
            continue  # a late one is already listed as expired
        where = "any catalog (no model version is published)"
        if catalog is not None:
            where = f"the catalog of model version {version!r}"
        unknown.append(
            NotCounted(
                index=index,
                event_id=event.event_id,
                member_id=str(event.member_id),
                week=event.week,
                reason="unknown_item",
                detail=f"item {event.item_id!s} is not in {where}: it counts for no pick (kept as the "
                "member's spend for the experiment analysis)",
            )
        )
    return out, unknown
