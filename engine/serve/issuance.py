"""Issuing a member's challenge for a week: the request logic, free of HTTP.

:func:`challenge_for` is what ``GET /v1/members/{id}/challenge`` runs:

1. one store round trip: the challenge already issued this week, else the current model version and the
   member's record *in that version* (so a request never mixes versions);
2. already issued: return it unchanged (stable for the week, whatever changed since);
3. otherwise apply the rules in force to the record (or, for a member the model does not know, to the
   version's cold-start record of popular items, under the same guards), and store the result with
   issue-once semantics: of concurrent first requests exactly one writes, and all return what was
   written. The week's budget, the counters and the member's history change in the same atomic step.
4. the exposure hook (experiments) hears about each new issuance; by default it does nothing.

The :class:`~engine.serve.issuer.Issuer` and its hooks live in :mod:`engine.serve.issuer`; the names
others import from here (``Issuer``, ``ArmChoice``, ``Exposure``, the hook types and defaults) are
re-exported.

Members the model does not know (any well-formed id is one) are bounded: at most
``cold_start_per_week`` of them get a stored challenge per week; beyond that they get an explicit
no-offer (reason code ``cold_start_cap``) that is not stored. They are outside every experiment's
population (no arm, no exposure): the experiment measures the members the model was trained on.

With an experiment running for the week (``assign_arm`` answers an :class:`ArmChoice`), the response is
stamped with the experiment and arm, and the arm's policy decides the challenge: ``recommender`` the
normal one, ``baseline`` the simple one of :mod:`engine.serve.baseline` (under the same rules),
``holdout`` an explicit no-offer (reason code ``holdout``) that still counts as exposed. The optional
``progress_of`` hook adds the member's challenge progress to every answer (a ``progress`` field); the
optional ``opted_out`` hook turns a new issuance for a member who opted out into an explicit no-offer
(reason code ``opted_out``; a challenge already issued this week stays as issued). The optional
``compose_message`` hook (:mod:`engine.messages`) adds ``message``, ``message_language`` and
``send_at`` to an issued challenge (``null`` for a no-offer), stored with it.

Responses are stored as the exact JSON bytes the API returns, so a repeat read is one GET.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass

import orjson

from engine.candidates import Id, MemberCandidates
from engine.challenge import Challenge, no_offer
from engine.challenge.choice import assemble_options
from engine.errors import ArtifactError, OfferEngineError, StoreUnavailable
from engine.messages import Message, message_fields
from engine.rules.choice import options_for
from engine.rules.outcome import RuleResult
from engine.serve.baseline import baseline_member
from engine.serve.choice import offered, reserved_cost, with_choice
from engine.serve.issuer import (
    ArmAssigner,
    ArmChoice,
    Decision,
    Exposure,
    ExposureHook,
    Issuer,
    OptOutCheck,
    ProgressHook,
    SignalsCheck,
    no_arm,
    no_exposure,
    no_model,
)
from engine.serve.recall import history_of, next_history, restore_served
from engine.serve.rules_watch import LiveRules
from engine.serve.shadow import below_shadow_price
from engine.serve.store import BudgetClaim, Lookup
from engine.serve.versions import VersionData
from engine.serve.winback import restored_answer, with_restored_tier

__all__ = [
    "COLD_START_CAP_REASON",
    "DAY_S",
    "HOLDOUT_REASON",
    "OPTED_OUT_REASON",
    "ArmAssigner",
    "ArmChoice",
    "Decision",
    "Exposure",
    "ExposureHook",
    "Issuer",
    "OptOutCheck",
    "ProgressHook",
    "SignalsCheck",
    "challenge_for",
    "cold_start_counter",
    "no_arm",
    "no_exposure",
    "no_model",
    "preview_for",
]

log = logging.getLogger(__name__)

DAY_S = 86_400

#: The reason code of the holdout arm's explicit no-offer.
HOLDOUT_REASON = "holdout"
#: The reason code of an unknown member's (unstored) no-offer once the week's cold-start cap is reached.
COLD_START_CAP_REASON = "cold_start_cap"
#: The reason code of the no-offer for a member who opted out of offers.
OPTED_OUT_REASON = "opted_out"


@dataclass(frozen=True, slots=True)
class _Context:
    """What every challenge of one request shares: who, when, which versions, what the API adds."""

    member_id: Id
    week: int
    model_version: str
    rules_version: str
    choice: ArmChoice | None
    cold_start: bool
    issued_at: str
    expires_at: str

    def no_offer(self, tier: str, code: str, reason: str) -> Challenge:
        """An explicit refusal, explained by the one rule that refused."""
        return no_offer(
            self.member_id,
            tier,
            self.week,
            code,
            reason,
            [RuleResult(code, False, reason)],
            "",
            (self.model_version, self.rules_version),
        )

    def payload(self, challenge: Challenge, message: Message | None = None) -> bytes:
        """The API's JSON body for ``challenge`` (and its message, if any)."""
        body = challenge.model_dump(mode="json")
        body.update(message_fields(message))
        choice = self.choice
        body.update(
            arm=None if choice is None else choice.arm,
            experiment=None if choice is None else choice.experiment,
            cold_start=self.cold_start,
            issued_at=self.issued_at,
            expires_at=self.expires_at,
        )
        return orjson.dumps(body)

    def counters(self, challenge: Challenge) -> list[str]:
        """Counter names one stored decision bumps."""
        names = ["decisions", f"decisions:w{self.week}", f"status:{challenge.status}"]
        if challenge.status == "no_offer":
            names.append(f"no_offer:{challenge.reason_code}")
        if self.cold_start:
            names += ["cold_start", cold_start_counter(self.week)]
        if self.choice is not None:
            names.append(f"arm:{self.choice.arm}")
        return names


def cold_start_counter(week: int) -> str:
    """The store counter of the week's stored cold-start challenges (what the cap is checked against)."""
    return f"cold_start:w{week}"


async def _cold_start_capped(issuer: Issuer, week: int) -> bool:
    cap = issuer.cold_start_per_week
    if cap is None:
        return False
    # Read before the write, so concurrent first requests may pass the cap by at most their number.
    return (await issuer.store.counters()).get(cold_start_counter(week), 0) >= cap


def _typed_id(member_id: str, int_ids: bool) -> Id:
    return int(member_id) if int_ids and member_id.isdigit() else member_id


def _member(record: bytes | None, data: VersionData, ctx: _Context) -> MemberCandidates:
    if record is not None:
        return MemberCandidates.from_json(record)
    if data.cold_start is None:
        raise ArtifactError(f"model version {ctx.model_version!r} has no cold-start record")
    return dataclasses.replace(data.cold_start, member_id=ctx.member_id)


async def challenge_for(issuer: Issuer, member_id: str, week: int) -> Decision:
    """The member's challenge for ``week``: the stored one, or a new one issued exactly once.

    Raises
    ------
    StoreUnavailable
        The store cannot be reached, or no model version has been published yet.
    """
    decision = await _decide(issuer, member_id, week)
    if issuer.tiers is not None:
        decision = dataclasses.replace(
            decision, payload=await restored_answer(issuer.tiers, member_id, decision.payload)
        )
    if issuer.progress_of is None:
        return decision
    progress = await issuer.progress_of(member_id, week, decision.payload)
    # Stored bodies are JSON objects: splice the field in before the closing brace, no re-encoding.
    payload = b'%b,"progress":%b}' % (decision.payload[:-1], progress)
    return dataclasses.replace(decision, payload=payload)


async def preview_for(issuer: Issuer, member_id: str, week: int) -> Decision:
    """What :func:`challenge_for` would answer now, without writing anything.

    The stored challenge if one was issued this week; otherwise the one the rules in force would issue
    (budget left included), with no challenge, history, budget, counter or exposure written.
    """
    return await _decide(issuer, member_id, week, dry_run=True)


async def _decide(issuer: Issuer, member_id: str, week: int, *, dry_run: bool = False) -> Decision:
    found = await issuer.store.lookup(week, member_id)
    if found.issued is not None:
        return Decision(found.issued, new=False)
    if issuer.recall is not None:
        if dry_run:
            served = await issuer.recall(member_id, week)
            if served is not None:
                return Decision(served, new=False)
        else:
            restored = await restore_served(
                issuer.store,
                issuer.recall,
                member_id,
                week,
                found.history,
                issuer.retention_s,
                issuer.history_retention_s,
            )
            if restored is not None:
                return Decision(restored, new=False)
    if found.version is None:
        raise StoreUnavailable(issuer.when_empty())
    data = await issuer.versions.get(found.version)
    live = issuer.rules.current()
    cold_start = found.record is None
    ctx = _Context(
        member_id=_typed_id(member_id, data.int_ids),
        week=week,
        model_version=found.version,
        rules_version=live.version,
        choice=None if cold_start else issuer.assign_arm(member_id, week),
        cold_start=cold_start,
        issued_at=dt.datetime.now(dt.UTC).isoformat(),
        expires_at=issuer.calendar.expires(week).isoformat(),
    )
    if cold_start and issuer.cold_start_per_week is not None:
        # One cold-start issuance at a time in this process, so the cap is read and spent together.
        async with issuer.cold_start_lock:
            if await _cold_start_capped(issuer, week):
                refusal = ctx.no_offer(
                    "unknown",
                    COLD_START_CAP_REASON,
                    f"member is unknown to model {found.version!r} and the week's "
                    f"{issuer.cold_start_per_week} challenges for new members are issued",
                )
                return Decision(ctx.payload(refusal), new=False, stored=False)
            return await _issue(issuer, found, data, live, ctx, member_id, week, dry_run)
    return await _issue(issuer, found, data, live, ctx, member_id, week, dry_run)


async def _issue(
    issuer: Issuer,
    found: Lookup,
    data: VersionData,
    live: LiveRules,
    ctx: _Context,
    member_id: str,
    week: int,
    dry_run: bool,
) -> Decision:
    """Assemble the week's answer for a member with nothing issued yet, and store it once."""
    history = history_of(found.history)
    policy = None if ctx.choice is None else ctx.choice.policy
    # Asked before anything is stored: an event store that cannot answer fails the request (503, retry)
    # rather than storing a week's answer on a guess.
    opted_out = issuer.opted_out is not None and await issuer.opted_out(member_id)
    restoration = None if issuer.tiers is None else await issuer.tiers.restored_tier(member_id)
    signals = None if issuer.signals_of is None else await issuer.signals_of(member_id)
    if signals is not None:  # offers received: the stretch categories the history remembers
        signals = dataclasses.replace(signals, offers=len(history.stretch_weeks))
    tier = "unknown"
    options: list[Challenge] = []
    profile = None
    try:
        member = with_restored_tier(_member(found.record, data, ctx), restoration, week, live.rules)
        tier, profile = member.tier, member.profile
        rules = live.rules
        if policy == "baseline":
            member = baseline_member(member, data.cold_start)
            rules = issuer.baseline_rules(live.version, live.rules)
        # No choice while an experiment records exposures and progress: its event store knows the
        # challenge issued, not a later pick, so a reward could follow the wrong picks.
        offers_choice = issuer.tiers is not None and issuer.progress_of is None
        options = assemble_options(
            member,
            data.catalog,
            rules,
            week,
            options_for(rules.choice, tier) if offers_choice else 1,
            history=history,
            signals=signals,
            data_week=data.data_week,
            model_version=ctx.model_version,
            rules_version=ctx.rules_version,
        )
        challenge = options[0]
    except OfferEngineError as exc:
        # A guard that cannot be evaluated refuses the offer; stored so the week stays consistent.
        log.warning("challenge refused: %s", exc.message, extra={"member_id": member_id, "week": week})
        challenge = ctx.no_offer(tier, "unevaluable", exc.message)
    shadow = None
    if opted_out:
        challenge = ctx.no_offer(tier, OPTED_OUT_REASON, "the member opted out of offers")
    elif policy == "holdout" and ctx.choice is not None:
        # What the member would have had is kept (never shown) so the analysis can measure pick lift.
        shadow = challenge if challenge.status == "issued" else None
        challenge = ctx.no_offer(
            tier,
            HOLDOUT_REASON,
            f"member is in the holdout arm of experiment {ctx.choice.experiment!r}: no offer this week",
        )
    below = below_shadow_price(data.prices, live.version, challenge)
    if below is not None:
        challenge = ctx.no_offer(tier, "budget", below)
    limit = live.rules.budget.weekly_expected_cost
    budget = None
    choice = offered(options, challenge)  # the options a pick is made from ([]: no choice)
    if limit is not None and challenge.status == "issued":
        budget = BudgetClaim(week, reserved_cost(challenge, choice), limit)
    compose = issuer.compose_message
    message = None if compose is None else compose(challenge, profile, ctx.issued_at)
    if dry_run:
        if budget is not None and await issuer.store.budget_spent(week) + budget.cost > budget.limit:
            challenge = ctx.no_offer(tier, "budget", f"the week's expected reward budget {limit} is spent")
            choice, message = [], None
        return Decision(
            with_choice(ctx.payload(challenge, message), choice),
            new=False,
            stored=False,
            cold_start=ctx.cold_start,
        )
    result = await issuer.store.issue_once(
        week,
        member_id,
        with_choice(ctx.payload(challenge, message), choice),
        issuer.retention_s,
        ctx.counters(challenge),
        history=next_history(
            history, challenge.status, None if challenge.stretch is None else challenge.stretch.category, week
        ),
        history_ttl_s=issuer.history_retention_s,
        budget=budget,
    )
    if result.over_budget:
        # Rare (the week's budget is spent): store the refusal instead, still first-writer-wins.
        challenge = ctx.no_offer(
            challenge.tier, "budget", f"the week's expected reward budget {limit} is spent"
        )
        result = await issuer.store.issue_once(
            week, member_id, ctx.payload(challenge), issuer.retention_s, ctx.counters(challenge)
        )
    if not result.won:
        return Decision(result.payload, new=False)
    status, code = challenge.status, challenge.reason_code
    exposure = Exposure(
        member_id,
        week,
        None if ctx.choice is None else ctx.choice.arm,
        status,
        code,
        ctx.model_version,
        ctx.rules_version,
        ctx.issued_at,
        experiment=None if ctx.choice is None else ctx.choice.experiment,
        challenge=challenge,
        shadow=shadow,
        payload=result.payload,
    )
    await issuer.on_exposure(exposure)
    return Decision(result.payload, new=True, status=status, reason_code=code, cold_start=ctx.cold_start)
