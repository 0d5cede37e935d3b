"""What one rule says about one challenge: passed, or fired with the reason (for the explanation)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RuleResult:
    """A rule's verdict. ``passed`` False means the rule fired; ``detail`` says why in words."""

    rule: str
    passed: bool
    detail: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.detail}"
