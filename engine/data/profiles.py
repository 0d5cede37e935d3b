"""The members file's optional profile columns: name, language and time zone (how to address a member).

Each is optional, and so is each value (empty: not known). A value that is present is checked:

name
    text; NFC-normalised, whitespace collapsed; a name with control characters (other than the
    joiners Persian and emoji need) or nothing left after trimming is invalid
language
    a BCP 47 tag (``fa``, ``en-US``, ``zh-Hant``), stored lower-case
time_zone
    an IANA time zone known to :mod:`zoneinfo` (``Asia/Tehran``)

Invalid values follow ``invalid_rows``: ``report`` clears them (the member is kept, the value counted
in ``Dataset.dropped``), ``error`` raises naming the file, the column and examples.
"""

from __future__ import annotations

import re
import unicodedata
import zoneinfo
from collections.abc import Callable

import pandas as pd

from engine.data import schema as s
from engine.data.schema import DropCount
from engine.data.validation import examples, fail

_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$")
_JOINERS = frozenset("\u200c\u200d")


def _name(value: str) -> str | None:
    text = " ".join(unicodedata.normalize("NFC", value).split())
    bad = any(unicodedata.category(c) in {"Cc", "Cs"} for c in text) or any(
        unicodedata.category(c) == "Cf" and c not in _JOINERS for c in text
    )
    return None if bad or not text else text


def _language(value: str) -> str | None:
    tag = value.strip().replace("_", "-").lower()
    return tag if _LANGUAGE.match(tag) else None


def _time_zone(value: str) -> str | None:
    zone = value.strip()
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None
    return zone


def _missing(value: object) -> bool:
    """An empty cell: null, NaN or only whitespace."""
    return value is None or (isinstance(value, float) and value != value) or not str(value).strip()


#: column -> (parser returning None for an invalid value, what an invalid value is not)
_PARSERS: dict[str, tuple[Callable[[str], str | None], str]] = {
    s.MEMBER_NAME: (_name, "a usable name (empty, or holds control or bidirectional-format characters)"),
    s.LANGUAGE: (_language, "a BCP 47 language tag such as 'fa' or 'en-US'"),
    s.TIME_ZONE: (_time_zone, "an IANA time zone such as 'Asia/Tehran'"),
}


def clean_profiles(
    raw: pd.DataFrame, where: str, policy: str
) -> tuple[dict[str, pd.Series], list[DropCount]]:
    """The profile columns of a raw members table, checked and normalised (row order kept).

    Returns the columns present (object dtype, ``None`` where not known) and a note per column with
    invalid values cleared (``policy == "report"``).

    Raises
    ------
    DataValidationError
        A value is invalid and ``policy == "error"``.
    """
    columns: dict[str, pd.Series] = {}
    notes: list[DropCount] = []
    for column, (parse, what) in _PARSERS.items():
        if column not in raw.columns:
            continue
        text = pd.Series(
            [None if _missing(v) else str(v) for v in raw[column].tolist()], index=raw.index, dtype=object
        )
        parsed = pd.Series([None if v is None else parse(v) for v in text], index=raw.index, dtype=object)
        invalid = text.notna() & parsed.isna()
        if invalid.any():
            sample = examples(text[invalid])
            if policy == "error":
                raise fail(where, column, int(invalid.sum()), f"not {what}", sample)
            reason = f"{column}: not {what}; cleared (rows kept)"
            notes.append(DropCount("members", reason, int(invalid.sum()), sample))
        columns[column] = parsed
    return columns, notes


def with_profiles(members: pd.DataFrame, given: pd.DataFrame | None) -> pd.DataFrame:
    """``members`` (the built member table) with the profile columns of ``given`` joined by member id."""
    if given is None:
        return members
    present = [c for c in s.PROFILE_COLUMNS if c in given.columns]
    if not present:
        return members
    lookup = given.set_index(s.MEMBER_ID)[present]
    joined = members.join(lookup, on=s.MEMBER_ID)
    for column in present:
        joined[column] = joined[column].astype(object).where(joined[column].notna(), None)
    return joined
