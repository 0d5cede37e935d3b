"""Keep credentials out of everything a caller or a log reader sees.

One function, :func:`redact`, used at the two places text leaves the engine: every engine error's message
and body (:mod:`engine.errors`) and every log line (:class:`RedactingFilter`, installed on the log
handler by :func:`engine.serve.logs.configure_logging`), so no code path can bypass it.

What it removes: the userinfo of any URL (``redis://:secret@host`` -> ``redis://***@host``), which is
where this project's credentials live (store and event-store URLs).
"""

from __future__ import annotations

import logging
import re

#: ``scheme://userinfo@`` up to the last ``@`` before the host (an unencoded ``@`` in a password too).
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)[^/\s\"'<>]*@")
MASK = "***"


def redact(text: str) -> str:
    """``text`` with the credentials of every URL in it replaced by ``***``."""
    if "@" not in text:
        return text
    return _USERINFO.sub(rf"\g<scheme>{MASK}@", text)


def redact_value(value: object) -> object:
    """``value`` with :func:`redact` applied to every string inside lists, tuples and dicts."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact_value(k): redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(v) for v in value]
    return value


class RedactingFilter(logging.Filter):
    """A handler filter that redacts a record's message, arguments, extra fields and traceback text."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite ``record`` in place; never drops it."""
        record.msg = redact(record.getMessage())
        record.args = None
        for key, value in list(record.__dict__.items()):
            if isinstance(value, str) and key not in ("msg", "name", "levelname", "pathname", "filename"):
                record.__dict__[key] = redact(value)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
