"""The serve-experiments seam: what the experiment loop reads off a served challenge and an exposure.

The serving layer is not imported here (data flows serve -> experiments); these Protocols say exactly
which attributes the experiment reads, so mypy checks both sides:

    ShownChallenge   the rules layer's ``engine.challenge.Challenge`` (habitual picks, stretch, reward)
    Shown            what :func:`to_snapshot` accepts: a ChallengeSnapshot, a ShownChallenge, or the API's
                     JSON body of one as a mapping
    ServedExposure   the serving layer's exposure (``engine.serve.issuance.Exposure``)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from engine.errors import BadRequest
from engine.experiments.events import ChallengeSnapshot

ItemId = int | str


class ShownPick(Protocol):
    """A habitual or stretch pick."""

    @property
    def item_id(self) -> ItemId:
        """The item the member is asked to buy."""
        ...


class ShownStretch(ShownPick, Protocol):
    """The stretch pick: a category (any product of it counts), with a suggested item."""

    @property
    def category(self) -> str:
        """The stretch category."""
        ...


class ShownReward(Protocol):
    """The reward for completing the challenge."""

    @property
    def cash_cost(self) -> float:
        """What the reward costs the business in cash."""
        ...


class ShownChallenge(Protocol):
    """A served challenge (``status`` ``"no_offer"`` means no offer: no picks, no reward)."""

    @property
    def status(self) -> str:
        """``"issued"`` or ``"no_offer"``."""
        ...

    @property
    def habitual(self) -> Sequence[ShownPick]:
        """The habitual picks, in order."""
        ...

    @property
    def stretch(self) -> ShownStretch | None:
        """The stretch pick."""
        ...

    @property
    def reward(self) -> ShownReward | None:
        """The reward."""
        ...


Shown = ChallengeSnapshot | ShownChallenge | Mapping[str, Any]


class ServedExposure(Protocol):
    """A member was served the week's answer: what the exposure hook reads (all of it, nothing else).

    ``challenge`` is what was shown (None for a no-offer); ``shadow`` the holdout's counterfactual;
    ``payload`` the exact answer served (the API's JSON), kept so a lost online record can be served again.
    """

    @property
    def member_id(self) -> str:
        """The member."""
        ...

    @property
    def week(self) -> int:
        """The challenge week."""
        ...

    @property
    def arm(self) -> str | None:
        """The member's arm (None: not in an experiment)."""
        ...

    @property
    def experiment(self) -> str | None:
        """The experiment the arm belongs to (None: any listening experiment)."""
        ...

    @property
    def status(self) -> str:
        """``"issued"`` or ``"no_offer"``."""
        ...

    @property
    def challenge(self) -> Shown | None:
        """The challenge shown."""
        ...

    @property
    def shadow(self) -> Shown | None:
        """The holdout's challenge, never shown."""
        ...

    @property
    def payload(self) -> bytes | None:
        """The exact answer served."""
        ...


def _from_mapping(body: Mapping[str, Any]) -> ChallengeSnapshot | None:
    if body.get("status") == "no_offer":
        return None
    items = body.get("item_ids")
    category = body.get("stretch_category")
    if items is None and body.get("picks") is not None:
        items = [p["item_id"] for p in body["picks"]]
    if items is None and body.get("habitual") is not None:
        stretch = body.get("stretch")
        items = [p["item_id"] for p in body["habitual"]] + ([] if stretch is None else [stretch["item_id"]])
        category = None if stretch is None else stretch.get("category")
    if items is None:
        raise BadRequest(f"challenge {dict(body)!r} has no item_ids or habitual/stretch picks")
    cost = body.get("reward_cost")
    reward = body.get("reward")
    if cost is None and isinstance(reward, Mapping):
        cost = reward.get("cash_cost")
    if cost is None:
        raise BadRequest(f"challenge {dict(body)!r} has no reward cost")
    return ChallengeSnapshot(
        item_ids=tuple(str(i) for i in items), reward_cost=float(cost), stretch_category=_category(category)
    )


def _category(category: object) -> str | None:
    # A blank category (unknown in the catalog) cannot stand for products: the item alone counts.
    return str(category) if category not in (None, "") else None


def to_snapshot(challenge: Shown) -> ChallengeSnapshot | None:
    """The pick item ids, stretch category and reward cost of a served challenge; None for a no-offer.

    Raises
    ------
    BadRequest
        An issued challenge without picks or without a reward cost.
    """
    if isinstance(challenge, ChallengeSnapshot):
        return challenge
    if isinstance(challenge, Mapping):
        return _from_mapping(challenge)
    if challenge.status == "no_offer":
        return None
    items = [p.item_id for p in challenge.habitual]
    category = None
    if challenge.stretch is not None:
        items.append(challenge.stretch.item_id)
        category = challenge.stretch.category
    if challenge.reward is None:
        raise BadRequest(f"issued challenge with picks {items} has no reward cost")
    return ChallengeSnapshot(
        item_ids=tuple(str(i) for i in items),
        reward_cost=challenge.reward.cash_cost,
        stretch_category=_category(category),
    )
