"""What issuing a challenge depends on: the :class:`Issuer` (built once per process) and its hooks.

The per-request flow that uses it is :mod:`engine.serve.issuance`. The hooks, all optional:

``assign_arm``
    the experiment and arm of a (member, week) (:class:`ArmChoice`; ``None``: no experiment);
``on_exposure``
    hears about each new issuance (:class:`Exposure`); by default it does nothing;
``progress_of``
    the member's challenge progress, added to every answer (a ``progress`` field);
``opted_out``, ``signals_of``
    whether the member opted out of offers, and the member's negative signals, read before a new issuance;
``when_empty``
    called when the store has no model version (it starts a republish); says what is happening;
``recall``, ``tiers``, ``compose_message``
    the answer first served when the online store lost it; restored tiers and choices; the message of a
    new challenge (:mod:`engine.messages`).

:class:`Decision` is what a request answers: the stored JSON bytes and how they came about.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from engine.challenge import Challenge
from engine.messages import MessageHook
from engine.rules.config import RulesConfig
from engine.rules.negative import MemberSignals
from engine.serve.baseline import baseline_rules
from engine.serve.calendar import WeekCalendar
from engine.serve.programme_store import ProgrammeStore
from engine.serve.recall import RecallHook
from engine.serve.rules_watch import RulesWatcher
from engine.serve.store import IssueStore
from engine.serve.versions import VersionCache


class ArmChoice(NamedTuple):
    """The experiment a (member, week) is in, its arm, and the policy that makes the arm's challenge."""

    experiment: str
    arm: str
    policy: str


@dataclass(frozen=True, slots=True)
class Exposure:
    """A member was served the week's answer (challenge or no-offer): what experiment analysis needs.

    ``challenge`` is what was stored and shown (an explicit no-offer included); ``shadow`` is, for the
    holdout only, the recommender's challenge the member would have had (never shown).
    """

    member_id: str
    week: int
    arm: str | None
    status: str
    reason_code: str
    model_version: str
    rules_version: str
    issued_at: str
    experiment: str | None = None
    challenge: Challenge | None = None
    shadow: Challenge | None = None
    payload: bytes | None = None


ArmAssigner = Callable[[str, int], ArmChoice | None]
ExposureHook = Callable[[Exposure], Awaitable[object]]
#: ``(member_id, week, stored payload) -> progress JSON`` (``b"null"`` outside experiments).
ProgressHook = Callable[[str, int, bytes], Awaitable[bytes]]
#: ``member_id -> whether the member opted out of offers``.
OptOutCheck = Callable[[str], Awaitable[bool]]
#: A member's negative signals (engine.rules.negative), read before a new issuance.
SignalsCheck = Callable[[str], Awaitable[MemberSignals]]


def no_arm(member_id: str, week: int) -> ArmChoice | None:
    """No experiment configured: no arm."""
    return None


def no_model() -> str:
    """The store has no model version and nothing republishes one: say how to publish."""
    return "no model version is published yet; publish one with `offers publish`"


async def no_exposure(event: Exposure) -> None:
    """No experiment configured: exposures are only counted, not recorded."""


@dataclass(frozen=True, slots=True)
class Decision:
    """What :func:`~engine.serve.issuance.challenge_for` answers: the stored JSON and how it came about."""

    payload: bytes
    new: bool
    status: str = ""
    reason_code: str = ""
    cold_start: bool = False
    #: False when ``payload`` is not in the store: a preview, or an unknown member beyond the cap.
    stored: bool = True


@dataclass
class Issuer:
    """The dependencies of :func:`~engine.serve.issuance.challenge_for`, built once per process."""

    store: IssueStore
    rules: RulesWatcher
    calendar: WeekCalendar
    retention_s: int
    history_retention_s: int
    assign_arm: ArmAssigner = no_arm
    on_exposure: ExposureHook = no_exposure
    progress_of: ProgressHook | None = None
    #: Stored challenges per week for members unknown to the model (``None``: no limit).
    cold_start_per_week: int | None = None
    opted_out: OptOutCheck | None = None
    signals_of: SignalsCheck | None = None
    #: Called when the store has no model version (it starts a republish); says what is happening.
    when_empty: Callable[[], str] = no_model
    #: The answer first served to a member for a week, when the online store no longer has it.
    recall: RecallHook | None = None
    #: Restored tiers (win-back) and choices; ``None``: neither is served.
    tiers: ProgrammeStore | None = None
    #: The message of a new challenge (None: the answer's message fields are null).
    compose_message: MessageHook | None = None
    versions: VersionCache = field(init=False)
    cold_start_lock: asyncio.Lock = field(init=False, default_factory=asyncio.Lock)
    _baseline: tuple[str, RulesConfig] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.versions = VersionCache(self.store)

    def baseline_rules(self, version: str, rules: RulesConfig) -> RulesConfig:
        """The baseline arm's rules for the rules ``version`` in force (derived once per version)."""
        if self._baseline is None or self._baseline[0] != version:
            self._baseline = (version, baseline_rules(rules))
        return self._baseline[1]
