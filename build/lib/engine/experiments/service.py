"""The plain functions the serving layer calls; FastAPI knows nothing of them and they know no HTTP.

::

    arm = assign_arm(definition, member_id)                 # sticky, deterministic
    progress = record_exposure(store, definition, arm, member_id, week, challenge)   # on every serve
    progress = ingest_purchase(store, event)                # POST /events
    progress = progress_for(store, member_id, week)         # shown in the challenge response

``challenge`` is the served challenge (:data:`~engine.experiments.shown.Shown`: a ChallengeSnapshot, the
rules layer's Challenge or its JSON body), or None for the holdout's explicit no-offer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from uuid import uuid4

from engine.errors import ExperimentError
from engine.experiments.assignment import assign_arm
from engine.experiments.definition import ExperimentDefinition
from engine.experiments.events import ExposureEvent, Progress, PurchaseEvent, parse_event
from engine.experiments.protocol import EventStore
from engine.experiments.shown import Shown, to_snapshot

__all__ = [
    "assign_arm",
    "exposure_event",
    "ingest_purchase",
    "ingest_purchases",
    "progress_for",
    "record_exposure",
    "to_snapshot",
]


def record_exposure(
    store: EventStore,
    definition: ExperimentDefinition,
    arm: str,
    member_id: int | str,
    week: int,
    challenge: Shown | None,
    *,
    shadow: Shown | None = None,
    event_id: str | None = None,
    timestamp: datetime | None = None,
    served: str | None = None,
) -> Progress:
    """Record that ``member_id`` was served ``arm``'s answer for ``week``; returns the week's progress.

    ``shadow`` (holdout only, optional) is the challenge the member would have had: stored, never
    shown, no reward; it lets the analysis measure the lift an offer puts on each pick.

    Raises
    ------
    ExperimentError
        ``arm`` is not the member's assigned arm, ``week`` is outside the experiment, a holdout exposure
        carries a challenge, or the definition's arms/weights changed under the same salt.
    """
    event = exposure_event(
        store,
        definition,
        arm,
        member_id,
        week,
        challenge,
        shadow=shadow,
        event_id=event_id,
        timestamp=timestamp,
        served=served,
    )
    return store.add_exposure(event)


def exposure_event(
    store: EventStore,
    definition: ExperimentDefinition,
    arm: str,
    member_id: int | str,
    week: int,
    challenge: Shown | None,
    *,
    shadow: Shown | None = None,
    event_id: str | None = None,
    timestamp: datetime | None = None,
    served: str | None = None,
) -> ExposureEvent:
    """The checked exposure event of :func:`record_exposure`, not yet written (group commit writes many).

    Checks the arm, week and holdout rules and the assignment lock exactly as :func:`record_exposure`.
    ``served`` is the exact answer shown (JSON), kept so that a lost online record can be served again.
    """
    if not definition.covers_week(week):
        raise ExperimentError(
            f"experiment {definition.name!r} runs weeks {definition.start_week}-{definition.end_week}; "
            f"cannot expose member {member_id} in week {week}"
        )
    expected = assign_arm(definition, member_id)
    if arm != expected:
        raise ExperimentError(
            f"experiment {definition.name!r}: member {member_id} is assigned to {expected!r}, not {arm!r}"
        )
    offer = None if challenge is None else to_snapshot(challenge)
    holdout = definition.arm(arm).policy == "holdout"
    if holdout and offer is not None:
        raise ExperimentError(f"experiment {definition.name!r}: holdout member {member_id} must get no offer")
    if shadow is not None and not holdout:
        # A shadow in a treatment arm would count as offered picks and bias the measured lift.
        raise ExperimentError(
            f"experiment {definition.name!r}: only holdout exposures carry a shadow challenge"
        )
    store.ensure_assignment_lock(definition)
    return ExposureEvent(
        event_id=event_id or f"exp-{uuid4().hex}",
        experiment=definition.name,
        salt=definition.salt,
        arm=arm,
        member_id=member_id,
        week=week,
        challenge=offer,
        shadow=None if shadow is None else to_snapshot(shadow),
        timestamp=timestamp,
        served=served,
    )


def ingest_purchase(store: EventStore, event: PurchaseEvent | Mapping[str, Any]) -> Progress:
    """Store one purchase (a model or a raw mapping, validated) and return the member's week progress."""
    parsed: PurchaseEvent = (
        event if isinstance(event, PurchaseEvent) else parse_event(PurchaseEvent, event, "purchase event")
    )
    return store.add_purchases([parsed])[0]


def ingest_purchases(store: EventStore, events: Iterable[PurchaseEvent]) -> list[Progress]:
    """Store many purchases in one transaction; returns the progress of each member-week touched."""
    return store.add_purchases(events)


def progress_for(store: EventStore, member_id: int | str, week: int) -> Progress:
    """The member's challenge progress for ``week``."""
    return store.progress(member_id, week)
