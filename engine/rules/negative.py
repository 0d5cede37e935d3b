"""Negative signals priced in: what opt-outs, unsubscribes and blocked notifications do to offers. Pure.

Per kind of signal the rules say what happens to the member's offers (``[negative_signals]``):
``stop`` (no offer: reason code ``signal_<kind>``; an opt-out stops offers until a later opt-in),
``no_message`` (still offered in the app, but no message is sent: the explanation's ``message_channel``
rule fires), ``reduce`` (``reduce_extra_weeks`` more weeks between offers) or ``none``.

And every challenge's expected profit subtracts the expected cost of a negative reaction:
``P(negative reaction) x value_lost_per_opt_out``, where P is the member's own rate, smoothed towards
the configured base rate: ``(base_rate x prior_offers + negatives) / (prior_offers + offers received)``.
A member without history pays ``base_rate x value_lost_per_opt_out``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import Field

from engine.config import StrictModel

Action = Literal["stop", "no_message", "reduce", "none"]
#: The signal kinds that count as negative (an opt-in is not).
NEGATIVE_SIGNALS: tuple[str, ...] = ("opt_out", "unsubscribe", "blocked_notifications")


class NegativeSignalRules(StrictModel):
    """What each negative signal does, and the value a negative reaction costs."""

    opt_out: Action = "stop"
    unsubscribe: Action = "no_message"
    blocked_notifications: Action = "reduce"
    reduce_extra_weeks: Annotated[int, Field(ge=0)] = 1
    value_lost_per_opt_out: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = 0.0
    base_rate: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0
    prior_offers: Annotated[float, Field(gt=0.0, allow_inf_nan=False)] = 20.0

    def action(self, kind: str) -> Action:
        """The action for a negative signal kind."""
        actions: dict[str, Action] = {
            "opt_out": self.opt_out,
            "unsubscribe": self.unsubscribe,
            "blocked_notifications": self.blocked_notifications,
        }
        return actions.get(kind, "none")


@dataclass(frozen=True)
class MemberSignals:
    """A member's signal history: negative signals per kind, whether opted out now, offers received.

    ``opted_out`` is the latest opt-out/opt-in state (an opt-in after an opt-out clears it); ``counts``
    every negative signal ever recorded (what the reaction rate reads).
    """

    counts: Mapping[str, int] = field(default_factory=dict)
    opted_out: bool = False
    offers: int = 0

    @property
    def negatives(self) -> int:
        """Negative signals recorded."""
        return sum(self.counts.get(k, 0) for k in NEGATIVE_SIGNALS)


@dataclass(frozen=True)
class SignalPolicy:
    """What the signals do to this week's offer: stop it (with the kind), message or not, extra weeks."""

    stop: str | None = None
    message: bool = True
    extra_weeks: int = 0
    reasons: tuple[str, ...] = ()


NO_SIGNALS = MemberSignals()


def signal_policy(signals: MemberSignals, rules: NegativeSignalRules) -> SignalPolicy:
    """Apply the per-kind actions to a member's signals (opt-out only while opted out)."""
    active = {k: n for k, n in signals.counts.items() if n > 0 and k in NEGATIVE_SIGNALS}
    if "opt_out" in active and not signals.opted_out:
        del active["opt_out"]  # opted back in
    stop, message, extra, reasons = None, True, 0, []
    for kind in NEGATIVE_SIGNALS:
        if kind not in active:
            continue
        action = rules.action(kind)
        if action == "stop" and stop is None:
            stop = kind
        elif action == "no_message":
            message = False
        elif action == "reduce":
            extra = rules.reduce_extra_weeks
        reasons.append(f"{kind} x{active[kind]}: {action}")
    return SignalPolicy(stop, message, extra, tuple(reasons))


def reaction_probability(signals: MemberSignals, rules: NegativeSignalRules) -> float:
    """P(negative reaction to one offer): the member's rate smoothed towards the base rate."""
    prior = rules.prior_offers
    return (rules.base_rate * prior + signals.negatives) / (prior + max(signals.offers, 0))


def reaction_cost(signals: MemberSignals, rules: NegativeSignalRules) -> float:
    """Expected cost of a negative reaction to one offer: P(negative) x value lost per opt-out."""
    return min(reaction_probability(signals, rules), 1.0) * rules.value_lost_per_opt_out
