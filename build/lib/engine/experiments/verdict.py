"""Guardrails as non-inferiority tests, and the one-sentence verdict per arm.

The guardrail rule, as the report states it: **a guardrail is breached unless its confidence interval
shows the harm is below the allowed amount** (the upper end of the harm interval lies under
``max_harm``). A noisy estimate therefore does not pass: it has to earn its way under the limit. When
the whole interval lies beyond the limit the harm is shown, and the arm is stopped; otherwise a
breached guardrail only blocks a roll-out (keep testing until the interval is narrow enough, or stop).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from engine.experiments.stats import Estimate, SrmResult

#: Metrics where a higher value is harm (all others: lower is harm).
HIGHER_IS_HARM: frozenset[str] = frozenset({"opt_out_rate"})

#: The rule, word for word in the report.
GUARDRAIL_RULE = (
    "Guardrails are non-inferiority tests: a guardrail is breached unless the confidence interval "
    "shows the harm is below the allowed amount (the upper end of the harm interval is under the "
    "allowed harm). A breached guardrail blocks a roll-out; when even the lower end is beyond the "
    "allowed harm, the harm is shown and the arm is stopped."
)

GuardStatus = Literal["ok", "breached"]


@dataclass(frozen=True)
class GuardrailResult:
    """A guardrail's harm (positive = worse) vs control and its non-inferiority status.

    ``status`` is ``ok`` when the harm interval lies wholly below ``max_harm``, else ``breached``;
    ``harm_shown`` says the whole interval lies beyond ``max_harm`` (the harm is certain, not just
    not ruled out).
    """

    metric: str
    arm: str
    max_harm: float
    harm: float
    harm_ci_low: float
    harm_ci_high: float
    status: GuardStatus

    @property
    def harm_shown(self) -> bool:
        """Whether even the most favourable end of the interval is beyond the allowed harm."""
        return self.harm_ci_low > self.max_harm


def evaluate_guardrail(metric: str, arm: str, estimate: Estimate, max_harm: float) -> GuardrailResult:
    """Non-inferiority of ``arm`` on ``metric``: harm is ``estimate`` turned so that positive is worse."""
    sign = 1.0 if metric in HIGHER_IS_HARM else -1.0
    low, high = sorted((sign * estimate.ci_low, sign * estimate.ci_high))
    status: GuardStatus = "ok" if high < max_harm else "breached"
    return GuardrailResult(metric, arm, max_harm, sign * estimate.diff, low, high, status)


def arm_verdict(
    arm: str,
    control: str,
    metric: str,
    method: str,
    estimate: Estimate,
    srm: SrmResult,
    guards: Sequence[GuardrailResult],
    interval_name: str = "95% CI",
    adjusted: tuple[str, float | None, float] | None = None,
) -> str:
    """One plain sentence: trust problem first, then guardrails, then the primary metric's answer.

    Parameters
    ----------
    estimate
        The primary metric's difference whose interval decides (a confidence sequence when sequential).
    guards
        Guardrail results of every arm; only ``arm``'s are read.
    interval_name
        How the report names the interval (``95% CI`` or ``95% confidence sequence``).
    adjusted
        ``(correction, adjusted p, alpha)``: a difference whose adjusted p is not below alpha is not
        called a win or a loss, whatever its own interval says.
    """
    interval = (
        f"{estimate.diff:+.2f} per member ({interval_name} {estimate.ci_low:+.2f} to "
        f"{estimate.ci_high:+.2f}, {method})"
    )
    if srm.mismatch:
        return (
            f"{arm}: do not trust this result: arm sizes do not match the weights "
            f"(sample ratio mismatch, p = {srm.p_value:.2g}); find the assignment or logging bug first."
        )
    mine = [g for g in guards if g.arm == arm]
    shown = [g.metric for g in mine if g.harm_shown]
    if shown:
        names = ", ".join(shown)
        return f"{arm}: stop: guardrail(s) {names} show harm beyond the allowed amount vs {control}."
    breached = [g for g in mine if g.status == "breached"]
    if breached:
        detail = "; ".join(
            f"{g.metric} harm up to {g.harm_ci_high:+.4g} cannot be ruled out (allowed {g.max_harm:g})"
            for g in breached
        )
        return (
            f"{arm}: do not roll out: guardrail(s) {', '.join(g.metric for g in breached)} not shown to "
            f"hold vs {control} ({detail}), whatever {metric} says ({interval}). "
            "Keep testing until the guardrails are shown to hold, or stop."
        )
    if estimate.significant and adjusted is not None:
        correction, p_adjusted, alpha = adjusted
        if p_adjusted is not None and p_adjusted >= alpha:
            return (
                f"{arm} vs {control} on {metric}: {interval} excludes zero alone, but not after the "
                f"{correction} correction for multiple comparisons (adjusted p = {p_adjusted:.3g}). "
                "Keep testing or stop."
            )
    if estimate.ci_low > 0:
        return f"{arm} beats {control} on {metric}: {interval}. It makes money; roll it out."
    if estimate.ci_high < 0:
        return f"{arm} loses to {control} on {metric}: {interval}. It costs money; stop it."
    return f"{arm} vs {control} on {metric}: no detectable difference, {interval}. Keep testing or stop."
