"""A challenge's message: the language, the filled template and when to send it.

:func:`compose` is pure (the time zone is looked up through :mod:`zoneinfo`'s cache);
:class:`Composer` binds it to a config for the serving hook. A no-offer gets no message.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from engine.candidates import MemberProfile
from engine.challenge import Challenge
from engine.messages.config import DIGITS, NAME_FIELD, MessagesConfig, template_fields
from engine.messages.fill import fill
from engine.messages.text import clean
from engine.messages.window import send_at

#: The answer's three message fields, all ``null`` when there is no message.
MESSAGE_FIELDS: tuple[str, ...] = ("message", "message_language", "send_at")


@dataclass(frozen=True, slots=True)
class Message:
    """The text to send, its language tag and the instant to send it (in the member's time zone)."""

    text: str
    language: str
    send_at: dt.datetime

    def fields(self) -> dict[str, str]:
        """The answer's fields: ``message``, ``message_language`` and ``send_at`` (ISO 8601 + offset)."""
        return {"message": self.text, "message_language": self.language, "send_at": self.send_at.isoformat()}


def message_fields(message: Message | None) -> dict[str, str | None]:
    """The answer's three message fields (``null`` for no message)."""
    return dict.fromkeys(MESSAGE_FIELDS) if message is None else dict(message.fields())


def choose_language(tag: str | None, languages: Mapping[str, object], default: str) -> str:
    """The configured language for a member's ``tag``: exact, then its primary subtag, else ``default``.

    ``"fa-IR"`` and ``"FA"`` choose ``"fa"``; an unknown or missing tag chooses ``default``.
    """
    if tag:
        tag = tag.strip().replace("_", "-").lower()
        for candidate in (tag, tag.split("-", 1)[0]):
            if candidate in languages:
                return candidate
    return default


@functools.lru_cache(maxsize=1024)
def _zone(name: str) -> zoneinfo.ZoneInfo | None:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def zone_for(name: str | None, default: str) -> tuple[str, zoneinfo.ZoneInfo]:
    """The member's time zone, else (missing or unknown to this machine) the configured default."""
    zone = None if not name else _zone(name)
    if zone is None or name is None:
        return default, zoneinfo.ZoneInfo(default)
    return name, zone


def _local_digits(number: int, digits: str) -> str:
    return str(number).translate(str.maketrans("0123456789", digits))


def compose(
    challenge: Challenge, profile: MemberProfile | None, issued_at: dt.datetime, config: MessagesConfig
) -> Message | None:
    """The message for an issued ``challenge`` (None for a no-offer or a challenge without two
    habitual picks, a stretch pick and a reward).

    Parameters
    ----------
    challenge
        The challenge as issued.
    profile
        How to address the member (name, language, time zone); ``None`` or empty values: the
        template without a name, the default language and the default time zone.
    issued_at
        When the challenge was issued (aware); ``send_at`` is at or after it.
    config
        Templates, limit and send window.
    """
    if challenge.status != "issued" or challenge.reward is None or challenge.stretch is None:
        return None
    if len(challenge.habitual) != 2:
        return None
    profile = profile or MemberProfile()
    language = choose_language(profile.language, config.languages, config.default_language)
    lang = config.languages[language]
    title = config.title_case_all_caps
    first, second = challenge.habitual
    names = {
        "item1": clean(first.name, title_all_caps=title) or clean(first.category, title_all_caps=title),
        "item2": clean(second.name, title_all_caps=title) or clean(second.category, title_all_caps=title),
        "stretch": clean(challenge.stretch.category, title_all_caps=title)
        or clean(challenge.stretch.name, title_all_caps=title),
    }
    member_name = clean(profile.name or "")
    template = lang.template(with_name=bool(member_name))
    if member_name:
        names[NAME_FIELD] = member_name
    names = {k: names[k] for k in template_fields(template) if k in names}
    text = fill(
        template,
        names,
        _local_digits(challenge.reward.stars, DIGITS[lang.digits]),
        direction=lang.direction,
        max_units=config.max_units,
        ellipsis=config.ellipsis,
    )
    window = config.send_window
    zone_name, zone = zone_for(profile.time_zone, window.default_time_zone)
    when = send_at(
        issued_at,
        zone,
        start_hour=window.start_hour,
        end_hour=window.end_hour,
        days=window.days_in(zone_name),
    )
    return Message(text, language, when)


#: The serving hook: ``(challenge, member profile, issued_at ISO string) -> message or None``.
MessageHook = Callable[[Challenge, MemberProfile | None, str], Message | None]


class Composer:
    """:func:`compose` bound to a config: what the serving :class:`~engine.serve.issuance.Issuer` calls."""

    def __init__(self, config: MessagesConfig) -> None:
        self.config = config

    def __call__(self, challenge: Challenge, profile: MemberProfile | None, issued_at: str) -> Message | None:
        """The message for ``challenge`` issued at ``issued_at`` (ISO 8601 with offset)."""
        return compose(challenge, profile, dt.datetime.fromisoformat(issued_at), self.config)
