"""The weekly budget's shadow prices in serving: computed once per publication, applied at each issuance.

The weekly batch keeps a challenge when its expected profit per unit of expected cost is above the
budget's shadow price (:mod:`engine.rules.budget`). Publishing runs that batch once over the version's
members with the rules in force and stores the prices beside the version (shared blob
``budget_prices``); serving then refuses a first issuance below them, so the challenges issued one
request at a time, in any order, are the ones the batch chose, not the first comers'. The store's
atomic budget claim stays as the hard cap. Prices belong to one rules version: after a rules change
they no longer apply until the next publication, and issuance falls back to the claim alone (logged
once per pair).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

import orjson

from engine.artifact import CandidateArtifact
from engine.challenge import Challenge, assemble_week
from engine.errors import ArtifactError
from engine.rules.budget import BudgetPrices, ShadowPrice, tie_key
from engine.rules.config import RulesConfig, rules_version

log = logging.getLogger(__name__)

#: The shared blob of a published version that holds its prices.
BLOB = "budget_prices"


@dataclass(frozen=True)
class PublishedPrices:
    """The shadow prices a publication computed, and the rules version they belong to."""

    rules_version: str
    prices: BudgetPrices


def prices_blob(artifact: CandidateArtifact, rules: RulesConfig) -> bytes | None:
    """The ``budget_prices`` blob for ``artifact`` under ``rules`` (None when no budget is set)."""
    if rules.budget.weekly_expected_cost is None and rules.budget.weekly_trial_cost is None:
        return None
    _, prices = assemble_week(artifact, rules, artifact.manifest.challenge_week)
    body = {
        "rules_version": rules_version(rules),
        "trial": None if prices.trial is None else dataclasses.asdict(prices.trial),
        "total": None if prices.total is None else dataclasses.asdict(prices.total),
    }
    return orjson.dumps(body)


def _price(raw: dict[str, float | int] | None) -> ShadowPrice | None:
    return None if raw is None else ShadowPrice(float(raw["ratio"]), int(raw["key"]))


def prices_from_blob(blob: bytes | None) -> PublishedPrices | None:
    """Inverse of :func:`prices_blob`."""
    if blob is None:
        return None
    try:
        raw = orjson.loads(blob)
        return PublishedPrices(
            str(raw["rules_version"]), BudgetPrices(_price(raw["trial"]), _price(raw["total"]))
        )
    except (orjson.JSONDecodeError, TypeError, KeyError) as exc:
        raise ArtifactError(f"stored budget prices are malformed: {exc!r}") from exc


_stale_logged: set[tuple[str, str]] = set()


def below_shadow_price(
    published: PublishedPrices | None, live_rules_version: str, challenge: Challenge
) -> str | None:
    """Why ``challenge`` is below the week's shadow price, or None when it clears it (or none applies)."""
    if published is None or challenge.status != "issued":
        return None
    if published.rules_version != live_rules_version:
        key = (published.rules_version, live_rules_version)
        if key not in _stale_logged:
            _stale_logged.add(key)
            log.warning(
                "budget shadow prices were computed for rules %s, not %s: first-come budget until the "
                "next publication",
                *key,
            )
        return None
    p = published.prices
    if p.admits(
        challenge.expected_cost, challenge.expected_profit, challenge.trial, tie_key(challenge.member_id)
    ):
        return None
    price = p.trial if challenge.trial and p.trial is not None else p.total
    ratio = float("nan") if price is None else price.ratio
    return (
        f"expected profit per unit of expected cost {challenge.expected_profit:.4f} / "
        f"{challenge.expected_cost:.4f} does not clear the week's shadow price {ratio:.4f}: the weekly "
        "budget goes to challenges worth more"
    )
