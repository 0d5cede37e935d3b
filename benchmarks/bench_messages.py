"""How long composing one challenge's message takes (it runs once per new issuance, on the request path).

Run: ``PYTHONPATH=$PWD python benchmarks/bench_messages.py`` — prints microseconds per message for short
names (kept whole), Persian with isolates, and long names that must be cut on grapheme boundaries.
"""

from __future__ import annotations

import datetime as dt
import time

from engine.candidates import MemberProfile
from engine.challenge import Challenge
from engine.messages import compose, load_messages_config

N = 5000


def challenge(item1: str, item2: str, stretch: str) -> Challenge:
    pick = {"price": 0.0, "margin": 0.0, "p_base": 0.0, "p_offer": 0.0}
    return Challenge.model_validate(
        {
            "member_id": 1,
            "week": 1,
            "tier": "gold",
            "status": "issued",
            "reason_code": "issued",
            "reason": "",
            "habitual": [
                {"item_id": 1, "name": item1, "category": "", **pick},
                {"item_id": 2, "name": item2, "category": "", **pick},
            ],
            "stretch": {"category": stretch, "item_id": 3, "name": "", **pick},
            "reward": {"stars": 50, "cash_cost": 0.0},
            "expected_cost": 0.0,
            "expected_profit": 0.0,
            "p_complete": 0.0,
            "explanation": {"picks": [], "arithmetic": "", "rules": []},
            "model_version": "b",
            "rules_version": "b",
        }
    )


def main() -> None:
    config = load_messages_config()
    issued = dt.datetime.now(dt.UTC)
    short = challenge("FLUID MILK WHITE ONLY", "BANANAS", "FROZEN PIZZA")
    long = challenge("SFT DRNK SNGL SRV BTL CARB (EX" * 3, "Cre\u0300me " * 30, "FRZN MEAT/MEAT DINNERS" * 4)
    cases = {
        "short names, English, no profile": (short, None),
        "short names, Persian, Tehran": (short, MemberProfile("نرگس", "fa", "Asia/Tehran")),
        "long names cut, Persian, Tehran": (long, MemberProfile("نرگس", "fa", "Asia/Tehran")),
    }
    for label, (chal, profile) in cases.items():
        start = time.perf_counter()
        for _ in range(N):
            compose(chal, profile, issued, config)
        print(f"{label}: {(time.perf_counter() - start) / N * 1e6:.1f} us per message")


if __name__ == "__main__":
    main()
