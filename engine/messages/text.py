"""Making a display name safe to put into a message, and shortening it without breaking it.

Pure functions over ``str``:

* :func:`clean` — NFC, control and bidirectional-formatting characters removed (a name must not be
  able to reorder the text around it), whitespace collapsed, all-capitals names in title case;
* :func:`shorten` — at most N SMS units, cut only between grapheme clusters (never inside a character,
  a base + combining marks, an emoji ZWJ sequence or a flag) and ended with the ellipsis;
* :func:`isolate` — a name whose script runs the other way from the message is wrapped in FIRST STRONG
  ISOLATE ... POP DIRECTIONAL ISOLATE (U+2068 ... U+2069), so a Latin product name inside Persian text
  (or a Persian name inside English text) keeps its own order without reordering its neighbours.
"""

from __future__ import annotations

import re
import unicodedata

import regex

from engine.messages.length import sms_units

FSI = "\u2068"
PDI = "\u2069"
ZWNJ = "\u200c"
ZWJ = "\u200d"
#: Format (Cf) characters a name may keep: the joiners (Persian words and emoji sequences need them)
#: and the tag characters of subdivision flags. Every other format character (bidi embeddings,
#: overrides, isolates and marks, soft hyphens, byte-order marks) is dropped.
_KEPT_FORMAT = frozenset({ZWNJ, ZWJ}) | frozenset(chr(c) for c in range(0xE0020, 0xE0080))
#: Categories dropped outright: controls, lone surrogates, private use, unassigned.
_DROPPED = frozenset({"Cc", "Cs", "Co", "Cn"})
_SPACES = re.compile(r"\s+")
_GRAPHEME = regex.compile(r"\X")
_WORD = regex.compile(r"\p{L}[\p{L}\p{M}'\u2019]*")

#: Bidirectional classes of strong characters, by the direction they run.
_STRONG = {"ltr": frozenset({"L"}), "rtl": frozenset({"R", "AL"})}


def _kept(char: str) -> bool:
    category = unicodedata.category(char)
    if category in _DROPPED:
        return False
    return category != "Cf" or char in _KEPT_FORMAT


def _title(word: regex.Match[str]) -> str:
    text = word.group(0)
    return text[:1] + text[1:].lower()


def clean(text: str, *, title_all_caps: bool = False) -> str:
    """``text`` ready to be placed in a message (NFC; may be empty).

    Parameters
    ----------
    text
        A member name or a product or category name, as the data holds it.
    title_all_caps
        Write a name that has cased letters and no lower-case one ("FLUID MILK") in title case
        ("Fluid Milk"): capitals read as shouting in a message.
    """
    text = _SPACES.sub(" ", unicodedata.normalize("NFC", text))
    if not text.isprintable():  # printable text holds none of the characters dropped (the fast path)
        text = "".join(c for c in text if _kept(c))
    text = text.strip()
    # A combining mark at the start would attach to the template character before the name.
    while text and unicodedata.category(text[0]).startswith("M"):
        text = text[1:].lstrip()
    if title_all_caps and text.upper() == text and text.lower() != text:
        text = _WORD.sub(_title, text)
    return unicodedata.normalize("NFC", text)


def graphemes(text: str) -> list[str]:
    """The extended grapheme clusters of ``text`` (what a reader sees as one character)."""
    return list(_GRAPHEME.findall(text))


def shorten(text: str, max_units: int, ellipsis: str) -> str:
    """``text`` if it fits ``max_units`` SMS units, else its longest grapheme-cluster prefix + ``ellipsis``.

    The result never exceeds ``max_units`` (empty when not even the ellipsis fits); trailing spaces
    and joiners of the kept prefix are dropped before the ellipsis.
    """
    if sms_units(text) <= max_units:
        return text
    room = max_units - sms_units(ellipsis)
    if room < 0:
        return ""
    kept: list[str] = []
    used = 0
    for cluster in graphemes(text):
        cost = sms_units(cluster)
        if used + cost > room:
            break
        kept.append(cluster)
        used += cost
    prefix = "".join(kept).rstrip(" " + ZWNJ + ZWJ)
    return prefix + ellipsis


def needs_isolate(text: str, direction: str) -> bool:
    """Whether ``text`` holds a strong character running against the message's ``direction``."""
    if direction == "ltr" and text.isascii():
        return False  # no right-to-left character is ASCII
    against = _STRONG["rtl" if direction == "ltr" else "ltr"]
    return any(unicodedata.bidirectional(c) in against for c in text)


def isolate(text: str, direction: str) -> str:
    """``text`` wrapped in FSI ... PDI when it runs against ``direction`` (see :func:`needs_isolate`)."""
    return f"{FSI}{text}{PDI}" if needs_isolate(text, direction) else text
