"""Publishing a trained model to the online store: artifact on disk -> one record per member.

Training writes ``<artifact_root>/<model_version>/`` and names the champion in
``<artifact_root>/CHAMPION``. Publishing reads the artifact (pandas/pyarrow only, no training code),
serialises one compact record per member plus the shared blobs below, and hands them to
:meth:`~engine.serve.store.Store.publish`, which switches serving to the new version atomically.

Shared blobs of a version
    ``manifest``    the artifact manifest (JSON)
    ``catalog``     every item candidates may name (JSON rows of ``ItemInfo``)
    ``cold_start``  the candidate record for a member the model does not know (popular items)
    ``id_kind``     ``int`` or ``str``: how member ids from a URL are typed for cold start
    ``budget_prices`` the weekly budget's shadow prices under the rules in force (when a budget is set)
"""

from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import orjson

from engine.artifact import CandidateArtifact, read_artifact
from engine.candidates import DEFAULT_TIER, Catalog, ItemInfo, cold_start_candidates, iter_member_candidates
from engine.errors import ArtifactError, BadRequest, InvalidArtifact, NotFound
from engine.rules.config import RulesConfig
from engine.serve.shadow import BLOB as SHADOW_BLOB
from engine.serve.shadow import prices_blob
from engine.serve.store import Store

log = logging.getLogger(__name__)

#: A model version names a directory: no separators, no "..", nothing a shell would mangle.
VERSION_MAX_LENGTH = 128
VERSION_PATTERN = re.compile(rf"^[A-Za-z0-9][A-Za-z0-9_.-]{{0,{VERSION_MAX_LENGTH - 1}}}$")
#: Placeholder member id in the stored cold-start record; replaced by the requesting member's id.
COLD_START_PLACEHOLDER = ""


@dataclass(frozen=True)
class Publication:
    """Everything one model version puts into the store."""

    version: str
    records: list[tuple[str, bytes]]
    shared: dict[str, bytes]


def check_version(version: str) -> str:
    """``version`` if it is a safe directory name, else :class:`BadRequest`."""
    if not VERSION_PATTERN.fullmatch(version) or ".." in version:
        raise BadRequest(
            f"model version {version!r} is not valid: use letters, digits, '_', '.', '-' (at most 128)"
        )
    return version


def build_publication(artifact: CandidateArtifact, rules: RulesConfig | None = None) -> Publication:
    """Serialise ``artifact`` into per-member records and shared blobs.

    With ``rules``, the weekly budget's shadow prices under them are computed and stored too
    (:mod:`engine.serve.shadow`).
    """
    records = [(str(m.member_id), m.to_json()) for m in iter_member_candidates(artifact)]
    catalog = Catalog.from_artifact(artifact)
    cold = cold_start_candidates(artifact, COLD_START_PLACEHOLDER, tier=DEFAULT_TIER)
    kinds = {type(m).__name__ for m in artifact.members["member_id"].tolist()[:1]}
    shared = {
        "manifest": orjson.dumps(dataclasses.asdict(artifact.manifest)),
        "catalog": orjson.dumps([item.to_dict() for item in catalog]),
        "cold_start": cold.to_json(),
        "id_kind": b"int" if kinds == {"int"} else b"str",
    }
    prices = None if rules is None else prices_blob(artifact, rules)
    if prices is not None:
        shared[SHADOW_BLOB] = prices
    return Publication(artifact.manifest.model_version, records, shared)


def catalog_from_blob(blob: bytes) -> Catalog:
    """Inverse of the ``catalog`` blob."""
    try:
        rows = orjson.loads(blob)
        return Catalog({row["item_id"]: ItemInfo(**row) for row in rows})
    except (orjson.JSONDecodeError, TypeError, KeyError) as exc:
        raise ArtifactError(f"stored catalog is malformed: {exc!r}") from exc


def load_for_publish(artifact_root: Path, version: str, rules: RulesConfig | None = None) -> Publication:
    """Read ``<artifact_root>/<version>`` and build its publication (CPU-bound: run off the event loop).

    Everything is checked before the store is touched, so a refused artifact changes nothing.

    Raises
    ------
    NotFound
        No such artifact directory.
    InvalidArtifact
        The artifact cannot be read or holds impossible values (see :mod:`engine.artifact`).
    """
    directory = artifact_root / check_version(version)
    if not directory.is_dir():
        raise NotFound(f"{directory}: no such model artifact")
    artifact = read_artifact(directory)
    if artifact.manifest.model_version != version:
        raise InvalidArtifact(
            f"{directory}/manifest.json: model_version is {artifact.manifest.model_version!r}, "
            f"but the directory is named {version!r}"
        )
    try:
        return build_publication(artifact, rules)
    except InvalidArtifact:
        raise
    except ArtifactError as exc:
        raise InvalidArtifact(f"{directory}: {exc.message}") from exc
    except (ValueError, TypeError, KeyError) as exc:
        # Columns of the wrong type (text where ids or numbers belong) fail while records are built.
        raise InvalidArtifact(f"{directory}: cannot build member records: {exc!r}") from exc


async def publish(store: Store, publication: Publication) -> str | None:
    """Load ``publication`` into ``store`` and switch to it; returns the version current before."""
    before = await store.publish(publication.version, publication.records, publication.shared)
    log.info(
        "model published",
        extra={"model_version": publication.version, "previous": before, "members": len(publication.records)},
    )
    return before
