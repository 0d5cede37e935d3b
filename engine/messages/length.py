"""How long a message is, in the unit the 160 limit is counted in: SMS units.

An SMS is sent as GSM-7 when every character is in the GSM 03.38 alphabet (a character of its
extension table, such as ``€`` or ``[``, takes two septets: escape + character) and as UCS-2/UTF-16
otherwise (a character outside the Basic Multilingual Plane, such as most emoji, takes two code units:
a surrogate pair). Persian text is never GSM-7.

One **SMS unit** per character, two for a GSM-7 extension character or a character outside the BMP.
The count is additive (a message's length is the sum of its parts', which lets the filler shorten
names field by field) and never below what a carrier counts in either encoding, so it is the strictest
sensible unit: a message within 160 SMS units is within 160 GSM-7 septets, 160 UTF-16 code units, 160
code points and 160 grapheme clusters alike. (Counting grapheme clusters or code points would let an
emoji-laden or accented name through that a carrier counts as longer.) Directional isolates and
zero-width joiners are characters too and are counted.

How many SMS parts a message takes (:func:`sms_parts`) is informational: 160 units of Persian text are
three concatenated UCS-2 parts (67 code units each), the same 160 of plain English one GSM-7 part.
"""

from __future__ import annotations

import math
import re

#: GSM 03.38 basic alphabet (the escape character itself left out: it only introduces the extension).
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
#: GSM 03.38 extension table: two septets each.
GSM_EXTENSION = frozenset("\f^{}\\[~]|€")

#: Highest code point of the Basic Multilingual Plane (one UTF-16 code unit).
BMP_MAX = 0xFFFF
#: Single-part and per-part (concatenated, after the 6-8 byte header) capacities.
GSM_SINGLE, GSM_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


def char_units(char: str) -> int:
    """SMS units of one character: 2 for a GSM-7 extension character or one outside the BMP, else 1."""
    return 2 if char in GSM_EXTENSION or ord(char) > BMP_MAX else 1


def sms_units(text: str) -> int:
    """The length of ``text`` in SMS units (see the module docstring).

    UTF-16 code units (a character outside the BMP is two) plus one per GSM-7 extension character;
    counted with C-level string methods, not a Python loop over the characters.
    """
    units = len(text) if text.isascii() else len(text.encode("utf-16-le", "surrogatepass")) // 2
    return units + len(_EXTENSION.findall(text))


_EXTENSION = re.compile("[" + re.escape("".join(sorted(GSM_EXTENSION))) + "]")


def is_gsm7(text: str) -> bool:
    """Whether ``text`` can be sent as GSM-7 (every character in the basic or extension table)."""
    return all(c in GSM_BASIC or c in GSM_EXTENSION for c in text)


def sms_parts(text: str) -> int:
    """How many SMS parts a carrier sends ``text`` in (GSM-7 septets or UTF-16 code units)."""
    if is_gsm7(text):
        septets = sum(2 if c in GSM_EXTENSION else 1 for c in text)
        return 1 if septets <= GSM_SINGLE else math.ceil(septets / GSM_PART)
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= UCS2_SINGLE else math.ceil(units / UCS2_PART)
