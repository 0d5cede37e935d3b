"""The words of a challenge's explanation: why each pick, and the money arithmetic. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from engine.candidates import HabitualCandidate, Id
from engine.rules.guards import economics


def why_habitual(name: str, item_id: Id, category: str, cand: HabitualCandidate, p_offer: float) -> str:
    """Why a habitual product was picked: the member's history with it and the model's probability."""
    # The member's history is in the weeks of the data the model was trained on, which need not be the
    # serving calendar's weeks the request names (README: "Two week numbers"): say which.
    last = "" if cand.last_week is None else f", last in data week {cand.last_week}"
    return (
        f"habitual: {name or item_id} ({category}): bought in {cand.n_baskets} basket(s){last}; "
        f"P(buy) {cand.score:.3f} -> {p_offer:.3f} with the offer"
    )


def why_stretch(category: str, name: str, item_id: Id, p_base: float, p_offer: float) -> str:
    """Why a stretch category was picked: new to the member, with the suggested product."""
    return (
        f"stretch: new category {category} for this member, suggested {name or item_id}; "
        f"P(buy) {p_base:.3f} -> {p_offer:.3f} with the offer"
    )


def arithmetic_text(
    margins: Sequence[float],
    p_base: Sequence[float],
    p_offer: Sequence[float],
    reward_cost: float,
    reaction_cost: float = 0.0,
) -> str:
    """The money of one challenge written out, so a marketer can redo the sum by hand."""
    money = economics(margins, p_base, p_offer, reward_cost, reaction_cost)
    reaction = f" - negative reaction {reaction_cost:.4f}" if reaction_cost else ""
    terms = " + ".join(
        f"{m:.2f}x({po:.3f}-{pb:.3f})" for m, pb, po in zip(margins, p_base, p_offer, strict=True)
    )
    return (
        f"incremental margin = {terms} = {money.incremental_margin:.4f}; "
        f"expected reward cost = {reward_cost:.2f} x P(complete) {money.p_complete:.4f} "
        f"= {money.expected_cost:.4f}{reaction}; expected profit = {money.expected_profit:.4f}; "
        f"reward {reward_cost:.2f} vs the picks' margin {sum(margins):.2f}"
    )
