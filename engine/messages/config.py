"""The model of ``configs/messages.toml``: templates per language, the length limit and the send window.

Templates are Python format strings with these fields, each used exactly once:

``{name}``
    the member's name (only in ``with_name``; ``without_name`` is used when the member file has none)
``{item1}``, ``{item2}``
    the two habitual picks' product names
``{stretch}``
    the stretch pick's category name (any product of it counts)
``{stars}``
    the reward in bonus stars, written in the language's digits

Validation makes filling in always possible: the fixed text plus the longest reward
(``max_star_digits``) plus ``min_field_units`` for every name field (and its two directional isolates)
fits ``max_units``.
"""

from __future__ import annotations

import string
import unicodedata
import zoneinfo
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from engine.config import CONFIG_DIR, StrictModel, load_config
from engine.messages.length import sms_units

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

NAME_FIELD = "name"
#: Fields shortened to fit, in the order they appear in the message's meaning.
NAME_FIELDS: tuple[str, ...] = (NAME_FIELD, "item1", "item2", "stretch")
STARS_FIELD = "stars"
PICK_FIELDS = frozenset({"item1", "item2", "stretch", STARS_FIELD})
#: Units two directional isolates (FSI ... PDI) add around a field.
ISOLATE_UNITS = 2

DIGITS: dict[str, str] = {
    "latin": "0123456789",
    "persian": "۰۱۲۳۴۵۶۷۸۹",
    "arabic": "٠١٢٣٤٥٦٧٨٩",
}


def _check_zone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{value!r} is not an IANA time zone (e.g. 'Asia/Tehran')") from exc
    return value


def template_fields(template: str) -> list[str]:
    """The field names ``template`` uses, in order (a malformed template raises ValueError)."""
    return [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]


class LanguageTemplates(StrictModel):
    """One language's two templates, its writing direction and its digits."""

    direction: Literal["ltr", "rtl"]
    digits: Literal["latin", "persian", "arabic"] = "latin"
    with_name: str = Field(min_length=1)
    without_name: str = Field(min_length=1)

    @field_validator("with_name", "without_name")
    @classmethod
    def _fields_once(cls, value: str) -> str:
        try:
            fields = template_fields(value)
        except ValueError as exc:
            raise ValueError(f"not a valid template ({exc}); write a literal brace as {{{{ or }}}}") from exc
        unknown = sorted(set(fields) - {NAME_FIELD, *PICK_FIELDS})
        if unknown:
            raise ValueError(f"unknown field(s) {unknown}; allowed: name, item1, item2, stretch, stars")
        missing = sorted(PICK_FIELDS - set(fields))
        if missing:
            raise ValueError(f"missing field(s) {missing}: every message names the picks and the reward")
        twice = sorted({f for f in fields if fields.count(f) > 1})
        if twice:
            raise ValueError(f"field(s) {twice} used more than once")
        if unicodedata.normalize("NFC", value) != value:
            raise ValueError("template text is not in Unicode NFC form")
        return value

    @model_validator(mode="after")
    def _name_only_with_name(self) -> LanguageTemplates:
        if NAME_FIELD not in template_fields(self.with_name):
            raise ValueError("with_name must use {name}")
        if NAME_FIELD in template_fields(self.without_name):
            raise ValueError("without_name must not use {name} (it is for members without one)")
        return self

    def template(self, with_name: bool) -> str:
        """The template for a member with or without a name."""
        return self.with_name if with_name else self.without_name


class SendWindow(StrictModel):
    """Office hours in the member's time zone: messages go out on ``days`` in [start_hour, end_hour)."""

    default_time_zone: Annotated[str, Field(min_length=1)]
    start_hour: int = Field(ge=0, le=23)
    end_hour: int = Field(ge=1, le=24)
    days: tuple[Day, ...] = Field(min_length=1)
    #: Working days where they differ from ``days`` (e.g. a Saturday-to-Wednesday week in Iran).
    days_by_time_zone: dict[str, tuple[Day, ...]] = Field(default_factory=dict)

    @field_validator("default_time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return _check_zone(value)

    @field_validator("days_by_time_zone")
    @classmethod
    def _zones(cls, value: dict[str, tuple[Day, ...]]) -> dict[str, tuple[Day, ...]]:
        for zone, days in value.items():
            _check_zone(zone)
            if not days:
                raise ValueError(f"{zone}: at least one day")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> SendWindow:
        if self.start_hour >= self.end_hour:
            raise ValueError(f"start_hour ({self.start_hour}) must be before end_hour ({self.end_hour})")
        return self

    def days_in(self, zone: str) -> tuple[Day, ...]:
        """The sending days in ``zone``."""
        return self.days_by_time_zone.get(zone, self.days)


class MessagesConfig(StrictModel):
    """Everything :func:`engine.messages.compose` needs."""

    default_language: str
    #: The limit after filling in, in SMS units (:mod:`engine.messages.length`).
    max_units: int = Field(ge=20, le=1600)
    ellipsis: str = Field(min_length=1, max_length=3)
    #: Fewest units each name field must be able to keep (with the ellipsis) in the worst case.
    min_field_units: int = Field(ge=1)
    #: Most digits a reward's star count is checked for.
    max_star_digits: int = Field(ge=1, le=9)
    #: Names written all in capitals (Complete Journey's products) are shown in title case.
    title_case_all_caps: bool = True
    send_window: SendWindow
    languages: dict[str, LanguageTemplates] = Field(min_length=1)

    @field_validator("languages")
    @classmethod
    def _lower_tags(cls, value: dict[str, LanguageTemplates]) -> dict[str, LanguageTemplates]:
        bad = [tag for tag in value if tag != tag.lower() or not tag.replace("-", "").isalpha()]
        if bad:
            raise ValueError(f"language tags {bad} must be lower-case BCP 47 tags such as 'en' or 'fa'")
        return value

    @model_validator(mode="after")
    def _fits(self) -> MessagesConfig:
        if self.default_language not in self.languages:
            raise ValueError(
                f"default_language {self.default_language!r} has no templates; have {sorted(self.languages)}"
            )
        if sms_units(self.ellipsis) >= self.min_field_units:
            raise ValueError("min_field_units must leave room for at least one character before the ellipsis")
        for tag, lang in self.languages.items():
            for kind in ("with_name", "without_name"):
                template = lang.template(kind == "with_name")
                fields = template_fields(template)
                names = [f for f in fields if f in NAME_FIELDS]
                stars = DIGITS[lang.digits][8] * self.max_star_digits
                fixed = template.format_map({**dict.fromkeys(names, ""), STARS_FIELD: stars})
                worst = sms_units(fixed) + len(names) * (self.min_field_units + ISOLATE_UNITS)
                if worst > self.max_units:
                    raise ValueError(
                        f"languages.{tag}.{kind}: the fixed text ({sms_units(fixed)} units with a "
                        f"{self.max_star_digits}-digit reward) leaves too little room for {len(names)} "
                        f"name(s) of {self.min_field_units} units within {self.max_units}"
                    )
        return self


def load_messages_config(path: Path | str = CONFIG_DIR / "messages.toml") -> MessagesConfig:
    """Read and validate ``configs/messages.toml`` (or another file with the same keys)."""
    return load_config(path, MessagesConfig)
