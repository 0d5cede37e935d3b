"""Member ids as the API takes them: one canonical form per member, bounded, checked the same everywhere.

A member id is 1 to 64 characters from ``A-Z a-z 0-9 _ . -`` (":" separates store keys). An id made of
digits only names the retailer's numeric member number and must be written canonically: no leading
zeros ("0" itself aside) and at most 18 digits, so that it fits the int64 the data and the model use.
``01`` or ``007`` are refused with a 422 that says how to write them rather than silently becoming
another member (with their own challenge and experiment arm) or being merged with ``1``/``7``.

:data:`MEMBER_ID_PATTERN` and :data:`MEMBER_ID_MAX_LENGTH` carry the whole rule, so the OpenAPI spec
states it; :func:`check_member_id` applies exactly that rule (whole-string match: a trailing newline is
no member id) for the code paths FastAPI does not validate (the hot path).
"""

from __future__ import annotations

import re

MEMBER_ID_MAX_LENGTH = 64
#: Most digits of an all-digit id: every 18-digit number fits int64.
MAX_DIGITS = 18
#: The largest numeric id (18 nines).
MAX_NUMERIC_ID = 10**MAX_DIGITS - 1
#: Either a canonical number, or any allowed string that is not all digits.
MEMBER_ID_PATTERN = rf"^(0|[1-9][0-9]{{0,{MAX_DIGITS - 1}}}|[A-Za-z0-9_.-]*[A-Za-z_.-][A-Za-z0-9_.-]*)$"
_MEMBER_ID = re.compile(MEMBER_ID_PATTERN[1:-1])
_ALLOWED = re.compile(r"[A-Za-z0-9_.-]+")


def member_id_problem(raw: str) -> str | None:
    """Why ``raw`` is not a canonical member id, or ``None`` when it is one."""
    if len(raw) > MEMBER_ID_MAX_LENGTH:
        return f"member id is {len(raw)} characters long; at most {MEMBER_ID_MAX_LENGTH} are allowed"
    if _MEMBER_ID.fullmatch(raw):
        return None
    if not _ALLOWED.fullmatch(raw):
        return f"member id {raw!r} may hold only letters, digits, '_', '.' and '-' (1..64)"
    if len(raw) > MAX_DIGITS and raw.lstrip("0"):
        return f"member id {raw!r} is out of range: numeric ids have at most {MAX_DIGITS} digits"
    canonical = raw.lstrip("0") or "0"
    return f"member id {raw!r} is not canonical: write it as {canonical!r} (no leading zeros)"


def check_member_id(raw: str) -> str:
    """``raw`` if it is a canonical member id, else :class:`ValueError` naming what is wrong."""
    problem = member_id_problem(raw)
    if problem is not None:
        raise ValueError(problem)
    return raw
