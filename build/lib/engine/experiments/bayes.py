"""A Bayesian reading of a difference: the chance that the arm beats control and the expected loss.

With a flat prior and the normal approximation the analysis already makes, the posterior of the true
difference is ``N(diff, se^2)`` (GrowthBook's Bayesian engine with an uninformative prior). Then

- chance to beat control: ``P(D > 0) = Phi(diff / se)``;
- expected loss of rolling the arm out: ``E[max(0, -D)] = se * phi(diff / se) - diff * Phi(-diff / se)``,
  in the metric's unit per member (what is lost on average if the arm is in truth worse).
"""

from __future__ import annotations

from dataclasses import dataclass

from scipy import stats


@dataclass(frozen=True)
class BayesSummary:
    """Chance the arm beats control and the expected loss (metric units per member) of choosing it."""

    chance_to_beat: float
    expected_loss: float


def bayes_summary(diff: float, std_err: float) -> BayesSummary:
    """:class:`BayesSummary` of a difference with posterior ``N(diff, std_err^2)``."""
    if std_err <= 0:
        return BayesSummary(1.0 if diff > 0 else 0.0 if diff < 0 else 0.5, max(-diff, 0.0))
    z = diff / std_err
    chance = float(stats.norm.cdf(z))
    loss = float(std_err * stats.norm.pdf(z) - diff * stats.norm.cdf(-z))
    return BayesSummary(chance, loss)
