"""Filling a template in so that the message fits its limit: the pure core of the message.

Every name field is cleaned (:func:`engine.messages.text.clean`) and, when it runs against the
message's direction, wrapped in directional isolates. If the whole does not fit ``max_units`` SMS
units, the names are shortened fairly ("water filling"): the largest per-field cap is found such that
the fields, each cut to at most that cap, fit the room the fixed text leaves; a field shorter than the
cap keeps its full length and gives the rest of its share to the others. Names are cut on grapheme
cluster boundaries and end with the ellipsis; the isolates are added after cutting (so they always
pair) and are counted in the cap.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

from engine.errors import ConfigError
from engine.messages.config import ISOLATE_UNITS, STARS_FIELD
from engine.messages.length import sms_units
from engine.messages.text import isolate, needs_isolate, shorten

#: The message's writing direction.
Direction = str


def _cost(text: str, direction: Direction) -> int:
    return sms_units(text) + (ISOLATE_UNITS if needs_isolate(text, direction) else 0)


def _cap(costs: list[int], room: int) -> int:
    """The largest cap c with sum(min(cost, c)) <= room (binary search; costs are not negative)."""
    low, high = 0, max(costs, default=0)
    while low < high:
        mid = (low + high + 1) // 2
        if sum(min(c, mid) for c in costs) <= room:
            low = mid
        else:
            high = mid - 1
    return low


def _fit(text: str, cap: int, direction: Direction, ellipsis: str) -> str:
    """``text`` cut so that it, with its isolates when it needs them, takes at most ``cap`` units."""
    if _cost(text, direction) <= cap:
        return text
    cut = shorten(text, cap - ISOLATE_UNITS, ellipsis)
    if not needs_isolate(cut, direction):
        # The cut removed every character that needed isolating: the isolates' units are free again.
        longer = shorten(text, cap, ellipsis)
        cut = longer if not needs_isolate(longer, direction) else cut
    return cut


def fill(
    template: str,
    names: Mapping[str, str],
    stars: str,
    *,
    direction: Direction,
    max_units: int,
    ellipsis: str,
) -> str:
    """``template`` filled with ``names`` (already cleaned) and ``stars``, within ``max_units``.

    Parameters
    ----------
    template
        A validated template (:class:`engine.messages.config.LanguageTemplates`).
    names
        The name fields the template uses (``name``, ``item1``, ``item2``, ``stretch``) -> text.
    stars
        The reward, already written in the language's digits (never shortened).
    direction
        ``"ltr"`` or ``"rtl"``: the template's writing direction.

    Raises
    ------
    ConfigError
        The fixed text and the reward alone leave no room for the names (the config validation rules
        this out for rewards of up to ``max_star_digits`` digits).
    """
    fixed = template.format_map({**dict.fromkeys(names, ""), STARS_FIELD: stars})
    room = max_units - sms_units(fixed)
    keys = list(names)
    cap = _cap([_cost(names[k], direction) for k in keys], room)
    filled = {k: isolate(_fit(names[k], cap, direction, ellipsis), direction) for k in keys}
    text = unicodedata.normalize("NFC", template.format_map({**filled, STARS_FIELD: stars}))
    if sms_units(text) > max_units:
        raise ConfigError(
            f"message template leaves no room for the names within {max_units} units "
            f"(fixed text {sms_units(fixed)} units with a reward of {stars!r})"
        )
    return text
