"""Write examples.md: filled messages in both languages for a few real Complete Journey members.

Run from the repository root: ``PYTHONPATH=$PWD python experiments/reports/messages/make_examples.py``.

Complete Journey has no trained challenge here, so each example uses the shape of one from the real
data before week 50: the member's two most-bought products (catalog names as the loader builds them),
a category the member never bought (the most popular such one) and the reward of the member's tier in
``configs/rules.toml`` (tiers from ``configs/tiers.toml``). Complete Journey has no names, languages
or time zones: each member is shown as the data has it (no name, default language and zone) and with a
made-up profile, to show the name variant and a Tehran member.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from engine.candidates import MemberProfile
from engine.challenge import Challenge
from engine.data.loaders import complete_journey_dir, read_complete_journey
from engine.data.tiers import derive_tiers, load_tiers_config
from engine.messages import compose, load_messages_config, sms_parts, sms_units
from engine.rules.config import load_rules

CUTOFF = 50
MEMBERS = (1, 208, 1027, 2070)
ISSUED = dt.datetime(2026, 3, 13, 20, 15, tzinfo=dt.UTC)  # a Friday evening (UTC)
PROFILES = {
    "as in the data (no profile)": None,
    "made-up English profile": MemberProfile("Jordan", "en-US", "America/Chicago"),
    "made-up Persian profile": MemberProfile("نرگس", "fa-IR", "Asia/Tehran"),
    "Persian, no name": MemberProfile(None, "fa", "Asia/Tehran"),
}
OUT = Path(__file__).with_name("examples.md")


def make_challenge(item1: str, item2: str, stretch: str, *, stars: int, member_id: int) -> Challenge:
    """An issued challenge with these picks (prices and probabilities are placeholders: a message
    reads only the names and the reward)."""
    pick = {"price": 0.0, "margin": 0.0, "p_base": 0.0, "p_offer": 0.0}
    return Challenge.model_validate(
        {
            "member_id": member_id,
            "week": CUTOFF,
            "tier": "",
            "status": "issued",
            "reason_code": "issued",
            "reason": "example",
            "habitual": [
                {"item_id": 1, "name": item1, "category": "", **pick},
                {"item_id": 2, "name": item2, "category": "", **pick},
            ],
            "stretch": {"category": stretch, "item_id": 3, "name": "", **pick},
            "reward": {"stars": stars, "cash_cost": 0.0},
            "expected_cost": 0.0,
            "expected_profit": 0.0,
            "p_complete": 0.0,
            "explanation": {"picks": [], "arithmetic": "", "rules": []},
            "model_version": "example",
            "rules_version": "example",
        }
    )


def main() -> None:
    raw = read_complete_journey(promotions=False)
    tx = raw.transactions[raw.transactions["week"] < CUTOFF]
    catalog = raw.catalog.set_index("item_id")
    tiers = derive_tiers(tx, CUTOFF, load_tiers_config()).set_index("member_id")["tier"]
    rules = load_rules()
    config = load_messages_config()
    category = tx["item_id"].map(catalog["category"])
    buyers = tx.assign(category=category).groupby("category")["member_id"].nunique().sort_values()
    lines = [
        "# Messages for real Complete Journey members",
        "",
        f"Made by `experiments/reports/messages/make_examples.py` with `configs/messages.toml`; issued "
        f"{ISSUED.isoformat()} (a Friday evening UTC). Picks: each member's two most-bought products "
        f"before week {CUTOFF} and the most popular category they never bought; reward: their tier's "
        "stars in `configs/rules.toml`. Units are SMS units (the 160 limit); parts: how many SMS a "
        "carrier sends (GSM-7 160/153, UCS-2 70/67). Directional isolates around Latin names in Persian "
        "text are shown as ⁨…⁩ by most renderers and counted.",
        "",
    ]
    for member in MEMBERS:
        mine = tx[tx["member_id"] == member]
        top = mine.groupby("item_id")["basket_id"].nunique().sort_values(ascending=False).index[:2]
        bought = set(mine["item_id"].map(catalog["category"]))
        stretch = next(c for c in reversed(buyers.index.tolist()) if c not in bought)
        tier = str(tiers.get(member, "bronze"))
        stars = rules.tiers[tier].stars
        names = [str(catalog.loc[i, "name"]) for i in top]
        challenge = make_challenge(names[0], names[1], str(stretch), stars=stars, member_id=member)
        lines += [
            f"## Household {member} ({tier}, {stars} stars)",
            "",
            f"Picks: {names[0]!r}, {names[1]!r}; stretch category {stretch!r}.",
            "",
            "| profile | language | send_at | units | parts | message |",
            "|---|---|---|---|---|---|",
        ]
        for label, profile in PROFILES.items():
            message = compose(challenge, profile, ISSUED, config)
            assert message is not None
            text = message.text.replace("|", "\\|")
            lines.append(
                f"| {label} | {message.language} | {message.send_at.isoformat()} | "
                f"{sms_units(message.text)} | {sms_parts(message.text)} | {text} |"
            )
        lines.append("")
    OUT.write_text("\n".join(lines))
    print(f"wrote {OUT} ({complete_journey_dir()})")


if __name__ == "__main__":
    main()
